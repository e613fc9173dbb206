/**
 * `orc msg send|read|ack|thread|list` and `orc inbox`: messages between agents.
 */
import type { Command } from 'commander';
import type { InboxEntry, Message } from '../ops/messages.js';
import type { Orc } from '../ops/orc.js';
import * as output from './output.js';

interface Globals {
  json?: boolean;
  agent?: string;
}

type Act = (fn: (orc: Orc, g: Globals, ...args: never[]) => Promise<void | number>) => (...args: unknown[]) => Promise<void>;

const lib = () => import('../ops/messages.js');

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const flags = (m: Message) => [m.importance !== 'normal' ? m.importance : '', m.ack_required ? 'ack' : ''].filter(Boolean).join(',');

function listText(list: (Message | InboxEntry)[], empty: string): string {
  if (!list.length) return empty;
  return list
    .map((m) => {
      const mark = 'unread' in m ? (m.unread ? '*' : m.ack_required && !m.acked_at ? '!' : ' ') : ' ';
      const f = flags(m);
      return `${mark} ${m.id}  ${m.created_at.slice(0, 16).replace('T', ' ')}  ${m.from} -> ${[...m.to, ...m.cc].join(',')}  ${m.subject}${f ? `  [${f}]` : ''}`;
    })
    .join('\n');
}

function headerText(m: Message): string {
  const lines = [`Id: ${m.id}`, `From: ${m.from}`, `To: ${m.to.join(', ')}`];
  if (m.cc.length) lines.push(`Cc: ${m.cc.join(', ')}`);
  lines.push(`Date: ${m.created_at}`, `Subject: ${m.subject}`);
  if (m.thread !== m.id) lines.push(`Thread: ${m.thread}${m.reply_to && m.reply_to !== m.thread ? ` (reply to ${m.reply_to})` : ''}`);
  if (m.importance !== 'normal') lines.push(`Importance: ${m.importance}`);
  if (m.ack_required) lines.push('Ack: requested (orc msg ack ID)');
  return `${lines.join('\n')}\n\n`;
}

export function registerMsgCommands(program: Command, act: Act): void {
  const msg = program.command('msg').alias('message').description('messages between agents');
  msg
    .command('send <to> <subject> [body]')
    .description('send a message as the acting agent; TO: an agent, a,b, @all or @ws:WORKSTREAM; body "-" reads stdin byte for byte')
    .option('--thread <id>', 'answer a message: the new one joins its thread')
    .option('--cc <agents>', 'more recipients, comma-separated (same forms as TO)')
    .option('--importance <level>', 'low, normal or high', 'normal')
    .option('--ack', 'ask the recipients to acknowledge it')
    .action(
      act(async (orc, g, to: string, subject: string, body: string | undefined, opts: { thread?: string; cc?: string; importance?: string; ack?: boolean }) => {
        const { sendMessage } = await lib();
        const bytes = body === '-' ? await readStdin() : body;
        const out = await sendMessage(orc, { to, subject, body: bytes, cc: opts.cc, thread: opts.thread, importance: opts.importance, ack: opts.ack === true });
        const m = out.result;
        if (g.json) output.printJson(m);
        else output.print(`sent ${m.id} to ${[...m.to, ...m.cc].join(', ')}`);
      }),
    );
  msg
    .command('read <id>')
    .description('print a message (headers, a blank line, the body exactly) and mark it read for the acting agent')
    .action(
      act(async (orc, g, id: string) => {
        const { readMessage } = await lib();
        const r = await readMessage(orc, id, g.agent);
        if (g.json) output.printJson({ ...r.message, body: r.body.toString('utf8'), read_at: r.state?.read_at ?? null, acked_at: r.state?.acked_at ?? null });
        else process.stdout.write(Buffer.concat([Buffer.from(headerText(r.message), 'utf8'), r.body]));
      }),
    );
  msg
    .command('ack <id>')
    .description('acknowledge a message (marks it read too) as the acting agent')
    .action(
      act(async (orc, g, id: string) => {
        const { ackMessage } = await lib();
        const st = await ackMessage(orc, id, g.agent);
        if (g.json) output.printJson(st);
        else output.print(`acknowledged ${st.id} as ${st.agent}`);
      }),
    );
  msg
    .command('thread <id>')
    .description("every message of a message's thread, oldest first")
    .action(
      act(async (orc, g, id: string) => {
        const list = await (await lib()).thread(orc, id);
        if (g.json) output.printJson(list);
        else output.print(listText(list, 'no messages'));
      }),
    );
  msg
    .command('list')
    .description('recent messages, newest first (all, or --of AGENT: from or to it)')
    .option('--of <agent>', 'only messages from or to this agent')
    .action(
      act(async (orc, g, opts: { of?: string }) => {
        const list = await (await lib()).listMessages(orc, { agent: opts.of });
        if (g.json) output.printJson(list);
        else output.print(listText(list, 'no messages'));
      }),
    );

  program
    .command('inbox [agent]')
    .description("an agent's messages, newest first (* unread, ! ack requested); default: the acting agent")
    .option('--unread', 'only unread ones')
    .option('--thread <id>', "only the thread of this message")
    .action(
      act(async (orc, g, agent: string | undefined, opts: { unread?: boolean; thread?: string }) => {
        const list = await (await lib()).inbox(orc, agent ?? g.agent, { unread: opts.unread === true, thread: opts.thread });
        if (g.json) output.printJson(list);
        else output.print(listText(list, opts.unread ? 'no unread messages' : 'no messages'));
      }),
    );
}
