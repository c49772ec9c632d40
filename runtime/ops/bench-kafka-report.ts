// The side-by-side table of `npm run bench -- kafka`: one line per metric, one column per
// system (the physical limit, logmesh and JetStream with one and three replicas), then the
// ratios logmesh ÷ JetStream and logmesh ÷ limit. `npm run bench -- floor` lays out its own
// columns and ratios the same way. Pure, so that tests pin its layout.

export const systemNames = ['limit', 'logmesh R1', 'JetStream R1', 'logmesh R3', 'JetStream R3'] as const;
export type SystemName = (typeof systemNames)[number];

/** A measured figure, or why there is none (the request and the error, as it happened). */
export type Cell = { value: number } | { failure: string };

export interface MetricLine {
  metric: string;
  /** By column name (a SystemName in the kafka table). */
  cells: Partial<Record<string, Cell>>;
}

export interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
}

export const ratios: readonly Ratio[] = [
  { name: 'logmesh R1 ÷ JetStream R1', numerator: 'logmesh R1', denominator: 'JetStream R1' },
  { name: 'logmesh R3 ÷ JetStream R3', numerator: 'logmesh R3', denominator: 'JetStream R3' },
  { name: 'logmesh R1 ÷ limit', numerator: 'logmesh R1', denominator: 'limit' },
  { name: 'logmesh R3 ÷ limit', numerator: 'logmesh R3', denominator: 'limit' },
];

/** A table's columns of figures, and the ratios after them. */
export interface TableLayout {
  columns: readonly string[];
  ratios: readonly Ratio[];
}

export const kafkaLayout: TableLayout = { columns: systemNames, ratios };

/** numerator ÷ denominator, or null when either is missing, failed, or the denominator is 0. */
export function ratioOf(line: MetricLine, ratio: Ratio): number | null {
  const top = line.cells[ratio.numerator];
  const bottom = line.cells[ratio.denominator];
  if (top === undefined || bottom === undefined || !('value' in top) || !('value' in bottom) || bottom.value === 0) return null;
  return top.value / bottom.value;
}

/** Figures as a reader wants them: thousands grouped, about three significant digits. */
export function formatFigure(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/**
 * The table as Markdown (readable in a terminal, and pasted as it is into docs/benchmarks.md).
 * A failed cell shows "failed [n]"; the failures follow the table, numbered, each once per
 * system (a system that did not start fails every line with the same note).
 */
export function formatTable(lines: readonly MetricLine[], layout: TableLayout = kafkaLayout): string {
  const failures: string[] = [];
  const footnote = (note: string): number => {
    const known = failures.indexOf(note);
    if (known >= 0) return known + 1;
    failures.push(note);
    return failures.length;
  };
  const header = ['metric', ...layout.columns, ...layout.ratios.map((r) => r.name)];
  const body = lines.map((line) => {
    const cells = layout.columns.map((system) => {
      const cell = line.cells[system];
      if (cell === undefined) return '-';
      if ('failure' in cell) return `failed [${footnote(`${system}: ${cell.failure}`)}]`;
      return formatFigure(cell.value);
    });
    const ratioCells = layout.ratios.map((ratio) => {
      const value = ratioOf(line, ratio);
      return value === null ? '-' : value.toFixed(2);
    });
    return [line.metric, ...cells, ...ratioCells];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((row) => row[column]!.length)));
  const render = (row: string[]): string => `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 2)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  const out = [render(header), rule, ...body.map(render)];
  if (failures.length > 0) out.push('', ...failures.map((failure, i) => `[${i + 1}] ${failure}`));
  return out.join('\n');
}

/** A line's figures for `--json`: each system's value (or "failed: why"), then the ratios. */
export function figuresOf(line: MetricLine, layout: TableLayout = kafkaLayout): Record<string, number | string> {
  const figures: Record<string, number | string> = {};
  for (const system of layout.columns) {
    const cell = line.cells[system];
    if (cell !== undefined) figures[system] = 'failure' in cell ? `failed: ${cell.failure}` : Number(cell.value.toFixed(3));
  }
  for (const ratio of layout.ratios) {
    const value = ratioOf(line, ratio);
    if (value !== null) figures[ratio.name] = Number(value.toFixed(3));
  }
  return figures;
}

/** The inverse of figuresOf (ratios are recomputed, not read). */
export function lineFromFigures(metric: string, figures: Record<string, number | string>, layout: TableLayout = kafkaLayout): MetricLine {
  const cells: Partial<Record<string, Cell>> = {};
  for (const system of layout.columns) {
    const figure = figures[system];
    if (typeof figure === 'number') cells[system] = { value: figure };
    else if (typeof figure === 'string') cells[system] = { failure: figure.replace(/^failed: /, '') };
  }
  return { metric, cells };
}
