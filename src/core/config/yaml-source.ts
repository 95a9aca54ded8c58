import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
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
      return {
        issues: document.errors.map((error) => {
          const { line, col } = lines.linePos(error.pos[0]);
          return {
            path: '',
            line,
            column: col,
            message: describeYamlError(error.code, error.message),
          };
        }),
      };
    }
    return { source: new YamlSource(document, lines) };
  }

  /** The plain JavaScript value of the document. */
  toJS(): unknown {
    return this.document.toJS({ maxAliasCount: 1000 });
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

/** The yaml package's messages quote the offending source line; ours must not (it may hold a secret). */
function describeYamlError(code: string, message: string): string {
  const firstLine = message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? code;
  return `not valid YAML: ${firstLine}`;
}
