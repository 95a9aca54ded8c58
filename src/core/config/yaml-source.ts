import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Alias, Document, Node } from 'yaml';
import type { ConfigIssue } from '../errors.js';

export type YamlPath = readonly (string | number)[];

/** Where something is in the file, 1-based. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/**
 * A parsed YAML file that can point back at its own text: the config's error messages name the
 * line and column of the key or value they are about.
 */
export class YamlSource {
  private constructor(
    private readonly document: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly value: unknown,
  ) {}

  /** Parses `text`; returns the syntax errors (all of them) instead of a source when there are any. */
  static parse(text: string): { source: YamlSource } | { issues: ConfigIssue[] } {
    const lines = new LineCounter();
    const document = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    if (document.errors.length > 0) {
      const textLines = text.split('\n');
      return {
        issues: document.errors.map((error) => {
          const { line, col } = lines.linePos(error.pos[0]);
          // `{` and `}` are flow-mapping syntax, so an unquoted ${VAR} inside { } or [ ] breaks.
          const hint = textLines[line - 1]?.includes('${')
            ? '; a value with ${VAR} inside { } or [ ] must be quoted, e.g. "${VAR}"'
            : '';
          return {
            path: '',
            line,
            column: col,
            message: describeYamlError(error.code, error.message) + hint,
          };
        }),
      };
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error: unknown) {
      // Aliases are resolved only here: an alias with no anchor, or an alias bomb.
      return { issues: [aliasIssue(document, lines, error)] };
    }
    return { source: new YamlSource(document, lines, value) };
  }

  /** The plain JavaScript value of the document. */
  toJS(): unknown {
    return this.value;
  }

  /**
   * The position of the deepest node along `path` that exists: the value itself, or (when `key` is
   * set) the key of the last step; a missing key points at the map that should hold it.
   */
  locate(path: YamlPath, options: { key?: boolean } = {}): SourcePosition | undefined {
    let node: unknown = this.document.contents;
    let position = this.positionOf(node);
    for (const [index, step] of path.entries()) {
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(step),
        );
        if (!pair) return position;
        if (last && options.key) return this.positionOf(pair.key) ?? position;
        node = pair.value;
      } else if (isSeq(node) && typeof step === 'number') {
        node = node.items[step];
      } else {
        return position;
      }
      position = this.positionOf(node) ?? position;
    }
    return position;
  }

  private positionOf(node: unknown): SourcePosition | undefined {
    const range = (node as Node | null | undefined)?.range;
    if (!range) return undefined;
    const { line, col } = this.lines.linePos(range[0]);
    return { line, column: col };
  }
}

/** More alias expansions than this is a resource-exhaustion attack, not a config. */
const MAX_ALIAS_COUNT = 1000;

function aliasIssue(document: Document.Parsed, lines: LineCounter, error: unknown): ConfigIssue {
  const aliases: Alias[] = [];
  visit(document, {
    Alias(_key, alias) {
      aliases.push(alias);
    },
  });
  const unresolved = aliases.find((alias) => alias.resolve(document) === undefined);
  const at = (unresolved ?? aliases[0])?.range?.[0] ?? 0;
  const { line, col } = lines.linePos(at);
  const message = unresolved
    ? `not valid YAML: alias *${unresolved.source} has no anchor &${unresolved.source} before it; define the anchor first or write the value out`
    : aliases.length > 0
      ? `not valid YAML: the aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT}); write the values out instead`
      : `not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  return { path: '', line, column: col, message };
}

/** The yaml package's messages quote the offending source line; ours must not (it may hold a secret). */
function describeYamlError(code: string, message: string): string {
  const firstLine = message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? code;
  return `not valid YAML: ${firstLine}`;
}
