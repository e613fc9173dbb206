/** The tip watcher lives in ops (waiters and `orc watch` use it too); the server's modules import it from here. */
export { TipWatcher, commitMessage, type CommitMessage } from '../ops/tipwatch.js';
