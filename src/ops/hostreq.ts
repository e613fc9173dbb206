/**
 * Cross-host group commit: hosts decide each other's exclusive ops.
 *
 * Per host, one push wins each race at the remote; every loser has paid a
 * fetch, a decide and a whole push for nothing, and a round then serves one
 * host's queue. So a host whose pushes are being refused publishes its
 * waiting ops as requests (refs/orc/hosts/<host>/req, store/hostreq.ts; it is
 * the only writer, so that push never contends), and whichever host wins the
 * next race has decided them too: after each fetch a leader takes every
 * host's unanswered requests into its batch, oldest first, decides them each
 * as its own commit on the one before (authored by the requesting agent, as
 * the requester would have), and pushes the branch together with each served
 * host's answers ref, atomically, a lease on every ref. An op is thus decided
 * once: its answer and its commit land in the same ref transaction, and a
 * second server's push, leased on the answers it read, is refused.
 *
 * The requester learns its outcome at its next fetch (the answers ref), or
 * decides the op itself (a request it decides is answered the same way, in
 * its own atomic push); a refusal it decides with nothing to commit is
 * recorded by pushing its answers ref alone. Requests stay until their host
 * has delivered the answers, then go with its next publish (`low` rises);
 * answers below `low` are dropped by whoever writes that answers ref next.
 *
 * Local state (<common dir>/orc/group/published.json): the ids of this host's
 * queued requests that were ever published, written before the push, and the
 * next seq. Any later leader of this host (the first one killed mid-publish)
 * decides those only with their answer recorded, so a request that landed
 * unbeknown is never decided twice.
 */
import { fs, path } from '../node.js';
import { processAlive } from '../store/process.js';
import type { GitStore } from '../store/gitstore.js';
import { ansRef, readInboxes, reqRef, writeAnswers, writeRequests, type HostInbox, type InboxOutcome, type InboxRequest, type Outcome } from '../store/hostreq.js';

export type InboxMode = 'auto' | 'always' | 'off';

export function inboxMode(v: string | undefined): InboxMode {
  if (v === undefined) return 'auto';
  const s = v.trim().toLowerCase();
  if (s === 'always') return 'always';
  if (/^(off|false|no|0|never)$/.test(s)) return 'off';
  return 'auto';
}

/** A ref update for an atomic push. */
export interface RefUpdate {
  ref: string;
  oid: string;
  expected: string | null;
}

interface PublishedFile {
  next: number;
  ids: Record<string, number>;
}

/** At most this many requests of other hosts join one batch. */
export const MAX_FOREIGN = 48;

export class HostRequests {
  /** What the remote held at this process's last fetch (or wrote since): host -> request ref. */
  view = new Map<string, HostInbox>();
  /** Whether `view` is from a fetch made while this process leads (a guess of the tip must not decide published ops on an older one). */
  fresh = false;
  private readonly file: string;
  private readonly mem: PublishedFile = { next: 1, ids: {} };

  constructor(
    private readonly store: GitStore,
    readonly host: string,
    groupDir: string,
  ) {
    this.file = path.join(groupDir, 'published.json');
  }

  /** Adopts what a fetch brought under `prefix`. */
  adopt(prefix: string): void {
    this.view = readInboxes(this.store.paths.commonDir, this.store.objects, prefix);
    this.fresh = true;
  }

  private mine(): HostInbox {
    return this.view.get(this.host) ?? { host: this.host, reqOid: null, low: 0, requests: [], ansOid: null, answers: {} };
  }

  /** published.json as read once per leadership (only the leader writes it; see forget). */
  private cached: PublishedFile | null = null;

  /** A new leadership: another process of this host may have published since, so read the file again. */
  forget(): void {
    this.cached = null;
    this.fresh = false;
  }

  private readFile(): PublishedFile {
    return (this.cached ??= this.loadFile());
  }

  private loadFile(): PublishedFile {
    try {
      const v = JSON.parse(fs.readFileSync(this.file, 'utf8')) as PublishedFile;
      if (Number.isSafeInteger(v.next) && v.ids && typeof v.ids === 'object') return v;
    } catch {
      /* none yet */
    }
    return { next: 1, ids: {} };
  }

  /** The seq this host published `id` under, if it did (this process's own ops, or the queue's files). */
  seqOf(id: string): number | undefined {
    return this.mem.ids[id] ?? this.readFile().ids[id];
  }

  /** This host's answers ref as this view holds it (null: none). */
  get answersOid(): string | null {
    return this.mine().ansOid;
  }

  /** An answer recorded for this host's request `id`, if any. */
  answerOf(id: string): Outcome | undefined {
    const a = this.mine().answers[id];
    if (!a) return undefined;
    const { seq: _seq, ...o } = a;
    return o as Outcome;
  }

  /**
   * Publishes `requests` (ids not yet published) in this host's req ref,
   * with those still waiting; the ones answered are dropped after `deliver`
   * got their answers. Returns the seq of each, or null when the remote
   * refused the update (the next fetch shows why). Records the ids first.
   */
  async publish(requests: Omit<InboxRequest, 'seq'>[], queueIds: Set<string>, deliver: (id: string, o: Outcome) => void, push: (u: RefUpdate[]) => Promise<'ok' | 'rejected'>): Promise<Map<string, number> | null> {
    const file = this.readFile();
    const mine = this.mine();
    let next = Math.max(file.next, this.mem.next, ...mine.requests.map((r) => r.seq + 1), ...Object.values(mine.answers).map((a) => a.seq + 1));
    const seqs = new Map<string, number>();
    // One published before (its push refused, or not seen on the remote) keeps its seq.
    const fresh: InboxRequest[] = requests.map((r) => {
      const seq = this.mem.ids[r.id] ?? file.ids[r.id] ?? next++;
      seqs.set(r.id, seq);
      return { ...r, seq };
    });
    // Written before the push: a later leader treats these as published whether or not the push lands.
    // Kept while their process lives (ids name it: "<at>-<pid>-...") or their request file is there.
    const ids: Record<string, number> = {};
    const live = (id: string) => {
      const pid = /^\d+-(\d+)-/.exec(id)?.[1];
      return queueIds.has(id) || (pid !== undefined && processAlive(Number(pid)));
    };
    for (const [id, s] of Object.entries(file.ids)) if (live(id)) ids[id] = s;
    for (const r of fresh) ids[r.id] = r.seq;
    for (const r of fresh) this.mem.ids[r.id] = r.seq;
    this.mem.next = next;
    this.writeFile({ next, ids });
    const keep: InboxRequest[] = [];
    for (const r of mine.requests) {
      const a = mine.answers[r.id];
      if (!a) {
        keep.push(r);
        continue;
      }
      const { seq: _s, ...o } = a;
      deliver(r.id, o as Outcome);
    }
    const all = [...keep.filter((r) => !seqs.has(r.id)), ...fresh];
    const low = all.length ? Math.min(...all.map((r) => r.seq)) : next;
    const oid = writeRequests(this.store.objects, this.host, low, all, new Date());
    const r = await push([{ ref: reqRef(this.host), oid, expected: mine.reqOid }]);
    if (r !== 'ok') return null;
    this.view.set(this.host, { ...mine, reqOid: oid, low, requests: all });
    return seqs;
  }

  private writeFile(f: PublishedFile): void {
    this.cached = f;
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(f));
    fs.renameSync(tmp, this.file);
  }

  /** Unanswered requests of every host (this one's too, such as a dead process's), oldest first, but those in `skip` (this host's ids already in the batch). */
  unanswered(skip: Set<string>): { host: string; req: InboxRequest }[] {
    const out: { host: string; req: InboxRequest }[] = [];
    for (const box of this.view.values()) {
      for (const r of box.requests) {
        if (box.answers[r.id] || (box.host === this.host && skip.has(r.id))) continue;
        out.push({ host: box.host, req: r });
      }
    }
    return out.sort((a, b) => a.req.at - b.req.at);
  }

  /** The answers refs to push for `decided` (host -> id -> answer): each host's answers kept (those at or above its `low`) plus the new. */
  updates(decided: Map<string, Map<string, InboxOutcome>>): { updates: RefUpdate[]; views: HostInbox[] } {
    const updates: RefUpdate[] = [];
    const views: HostInbox[] = [];
    for (const [host, news] of decided) {
      if (!news.size) continue;
      const box = this.view.get(host) ?? { host, reqOid: null, low: 0, requests: [], ansOid: null, answers: {} };
      const answers: Record<string, InboxOutcome> = {};
      for (const [id, a] of Object.entries(box.answers)) if (a.seq >= box.low) answers[id] = a;
      for (const [id, a] of news) answers[id] = a;
      const oid = writeAnswers(this.store.objects, host, answers, new Date());
      updates.push({ ref: ansRef(host), oid, expected: box.ansOid });
      views.push({ ...box, ansOid: oid, answers });
    }
    return { updates, views };
  }

  /** Whether this host's requests on the remote (as last seen) hold `id`. */
  shows(id: string): boolean {
    return this.mine().requests.some((r) => r.id === id);
  }

  /** After a push of `views`' answers landed (only the answers: a request view may be newer than the one they were made from). */
  landed(views: HostInbox[]): void {
    for (const v of views) {
      const cur = this.view.get(v.host);
      this.view.set(v.host, cur ? { ...cur, ansOid: v.ansOid, answers: v.answers } : v);
    }
  }
}
