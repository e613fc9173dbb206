import { fs } from '../node.js';

/**
 * Whether process `pid` on this machine is still running: signal 0 answers
 * (EPERM: it runs, as another user), and a zombie (exited, not yet reaped by
 * a busy parent, such as a repack this process started) counts as done.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): the signal said it runs
  }
}
