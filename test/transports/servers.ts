/**
 * Real git servers for the transport tests, started by the tests as their own
 * processes on 127.0.0.1 (a free port each) and torn down after: smart HTTP
 * through Debian's `apache2` running `git http-backend` as a CGI, and ssh
 * through Debian's `sshd` with generated keys. Each can be stopped (the remote
 * goes away: its process group is killed) and started again on the same port.
 * Nothing here mocks git.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { testEnv, tmpDir } from '../helpers.js';
import { freePort, sleep } from '../sync/daemon.js';
import * as net from 'node:net';

export const APACHE = '/usr/sbin/apache2';
export const APACHE_MODULES = '/usr/lib/apache2/modules';
export const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';
export const SSHD = '/usr/sbin/sshd';

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** What of `needs` (absolute paths or commands on PATH) this machine lacks. */
export function missing(needs: string[]): string[] {
  return needs.filter((n) => (n.startsWith('/') ? !fs.existsSync(n) : !onPath(n)));
}

/**
 * A describe block that runs only where its servers are installed. Without
 * them it is skipped with a message naming what is missing, except in CI
 * (`CI` set), where `.ci/run` installs them: there a missing binary fails.
 */
export function describeWith(needs: string[], name: string, body: () => void): void {
  const lack = missing(needs);
  if (!lack.length) {
    describe(name, body);
    return;
  }
  const why = `${lack.join(', ')} not installed (Debian: apt-get install apache2 openssh-server openssh-client; .ci/run does it)`;
  if (process.env.CI) {
    describe(name, () => {
      it('has its servers installed', () => {
        throw new Error(`${why}; in CI these tests must run`);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": ${why}`);
  describe.skip(`${name} (skipped: ${why})`, body);
}

const isRoot = () => process.getuid?.() === 0;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** A server process in its own process group: started, waited for on its port, killed with everything it forked. */
class ServerProcess {
  private child: ChildProcess | null = null;
  log = '';
  constructor(
    private readonly what: string,
    private readonly cmd: string,
    private readonly args: string[],
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.what} already running`);
    const child = spawn(this.cmd, this.args, { env: testEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
    this.child = child;
    const pid = child.pid!;
    const reap = () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    // Should the test process end without its afterAll, take the server with it.
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    const deadline = Date.now() + 15_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null) throw new Error(`${this.what} exited ${child.exitCode}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`${this.what} did not accept connections on ${this.port}: ${this.log}`);
      await sleep(20);
    }
  }

  /** SIGKILL to its process group (the remote just goes away), then waits until the port refuses connections. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const gone = child.exitCode === null && child.signalCode === null ? new Promise<void>((r) => child.once('exit', () => r())) : Promise.resolve();
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await gone;
    const deadline = Date.now() + 5_000;
    while (await accepts(this.port)) {
      if (Date.now() > deadline) throw new Error(`port ${this.port} still accepts connections after ${this.what} was killed`);
      await sleep(20);
    }
  }
}

/**
 * Makes a bare repo pushable through `git http-backend`: receive-pack on for
 * anonymous pushes, and, when apache's CGIs run as another user (www-data,
 * since apache will not serve as root), files and folders writable by it.
 */
export function shareBare(bare: string): void {
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: bare, env: testEnv(), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git('config', 'http.receivepack', 'true');
  if (!isRoot()) return;
  git('config', 'core.sharedRepository', '0666');
  spawnSync('chmod', ['-R', 'a+rwX', bare]);
  // The folders above it must be traversable by www-data (mkdtemp makes them 0700).
  for (let d = path.dirname(bare); d !== path.dirname(d) && d.startsWith(os.tmpdir()) && d !== os.tmpdir(); d = path.dirname(d)) fs.chmodSync(d, 0o755);
}

/** Smart HTTP: apache2 with a generated config serving `git http-backend` at http://127.0.0.1:PORT/git/<repo under base>. */
export class SmartHttp {
  private constructor(
    private readonly proc: ServerProcess,
    readonly base: string,
  ) {}

  get port(): number {
    return this.proc.port;
  }

  static async start(base: string): Promise<SmartHttp> {
    const dir = tmpDir('orc-apache-');
    fs.chmodSync(dir, 0o755);
    const port = await freePort();
    const mod = (name: string, file: string) => `LoadModule ${name} ${APACHE_MODULES}/${file}`;
    const conf = [
      `ServerRoot ${dir}`,
      'ServerName 127.0.0.1',
      `Listen 127.0.0.1:${port}`,
      `PidFile ${dir}/httpd.pid`,
      `ErrorLog ${dir}/error.log`,
      'LogLevel warn',
      `DefaultRuntimeDir ${dir}`,
      `Mutex file:${dir} default`,
      // apache refuses to serve as root: its children (and so git) run as www-data then.
      ...(isRoot() ? ['User www-data', 'Group www-data'] : []),
      mod('mpm_prefork_module', 'mod_mpm_prefork.so'),
      mod('authz_core_module', 'mod_authz_core.so'),
      mod('alias_module', 'mod_alias.so'),
      mod('env_module', 'mod_env.so'),
      mod('cgi_module', 'mod_cgi.so'),
      'StartServers 4',
      'MinSpareServers 4',
      'MaxSpareServers 32',
      'MaxRequestWorkers 96',
      'ServerLimit 96',
      'KeepAlive On',
      `SetEnv GIT_PROJECT_ROOT ${base}`,
      'SetEnv GIT_HTTP_EXPORT_ALL 1',
      // The repo is owned by the test's user, git runs as www-data: git's ownership check would refuse it.
      'SetEnv GIT_CONFIG_COUNT 1',
      'SetEnv GIT_CONFIG_KEY_0 safe.directory',
      'SetEnv GIT_CONFIG_VALUE_0 *',
      `ScriptAlias /git/ ${HTTP_BACKEND}/`,
      `<Directory ${path.dirname(HTTP_BACKEND)}>`,
      '  Require all granted',
      '</Directory>',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'httpd.conf'), conf);
    const proc = new ServerProcess('apache2', APACHE, ['-d', dir, '-f', path.join(dir, 'httpd.conf'), '-DFOREGROUND'], port);
    const s = new SmartHttp(proc, base);
    await proc.start();
    return s;
  }

  url(repo = 'remote.git'): string {
    return `http://127.0.0.1:${this.port}/git/${repo}`;
  }

  start(): Promise<void> {
    return this.proc.start();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

/**
 * ssh: sshd with a generated host key, a generated client key as the only
 * authorized one, on 127.0.0.1:PORT. `env` is what a client needs
 * (GIT_SSH_COMMAND with the key, the port and no host-key prompts); repos are
 * reached by absolute path as ssh://USER@127.0.0.1:PORT/abs/path.git.
 */
export class Sshd {
  private constructor(
    private readonly proc: ServerProcess,
    readonly env: Record<string, string>,
  ) {}

  get port(): number {
    return this.proc.port;
  }

  static async start(): Promise<Sshd> {
    const dir = tmpDir('orc-sshd-');
    const port = await freePort();
    const keygen = (file: string) => {
      const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'orc-test', '-f', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
    };
    keygen(path.join(dir, 'host_key'));
    keygen(path.join(dir, 'client_key'));
    fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
    // sshd's privilege separation folder (Debian makes it at boot, a fresh container may lack it).
    if (isRoot() && !fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const conf = [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      ...(isRoot() ? ['PermitRootLogin yes'] : []),
      // Many hosts connect at once: no dropping of unauthenticated connections.
      'MaxStartups 200:30:400',
      'MaxSessions 200',
      'UseDNS no',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'sshd_config'), conf);
    const ssh = ['ssh', '-F', '/dev/null', '-i', `${dir}/client_key`, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
    // sshd re-executes itself and so needs its absolute path.
    const proc = new ServerProcess('sshd', SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], port);
    const s = new Sshd(proc, { GIT_SSH_COMMAND: ssh.join(' ') });
    await proc.start();
    return s;
  }

  /** The ssh URL of a bare repo given by its absolute path. */
  url(bare: string): string {
    return `ssh://${os.userInfo().username}@127.0.0.1:${this.port}${bare}`;
  }

  start(): Promise<void> {
    return this.proc.start();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}
