/** The overlap rule lives in the model, shared by locks, claims and the runner; re-exported here for older imports. */
export { firstOverlap, globToRegExp, isGlob, resourcesOverlap } from '../model/resources.js';
