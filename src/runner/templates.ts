import { OrcError, invalid } from '../errors.js';
import { registerOp, type Decision, type OpDef } from '../model/ops.js';
import { checkTemplate, templateName, templatePath } from './render.js';

export interface TemplateWriteResult {
  name: string;
  path: string;
  /** Bytes written, or null when the override was removed. */
  bytes: number | null;
}

/**
 * The `template.write` op: commits a team's override as templates/<name>.hbs
 * (text null removes it, so the default applies again). A template that does
 * not parse is refused before anything is written.
 */
export const templateWriteOp: OpDef<{ name: string; text: string | null }, TemplateWriteResult> = registerOp({
  name: 'template.write',
  exclusive: false,
  parse: (r) => {
    const name = templateName(r.name);
    if (r.text === null) return { name, text: null };
    if (typeof r.text !== 'string') throw invalid('template text must be text');
    if (r.text.trim() === '') throw invalid(`template ${name} is empty; nothing committed (to go back to the default: orc templates rm ${name})`, { name });
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(r.text)) throw invalid(`template ${name} contains control characters`, { name });
    checkTemplate(name, r.text, 'input');
    return { name, text: r.text };
  },
  decide(s, i): Decision<TemplateWriteResult> {
    const path = templatePath(i.name);
    const old = s.read(path);
    if (i.text === null) {
      if (!old) throw new OrcError('NOT_FOUND', `the state branch has no override of ${i.name}; the default is in use`, { name: i.name });
      return {
        changes: new Map([[path, null]]),
        event: { action: 'template_removed', template: i.name },
        summary: `remove template override ${path}`,
        result: { name: i.name, path, bytes: null },
      };
    }
    const bytes = Buffer.from(i.text, 'utf8');
    if (old && old.equals(bytes)) return { changes: new Map(), event: null, summary: 'no change', result: { name: i.name, path, bytes: bytes.length } };
    return {
      changes: new Map([[path, bytes]]),
      event: { action: 'template_written', template: i.name, bytes: bytes.length, ...(old ? { updated: true } : {}) },
      summary: `write template ${path} (${bytes.length} bytes)`,
      result: { name: i.name, path, bytes: bytes.length },
    };
  },
});
