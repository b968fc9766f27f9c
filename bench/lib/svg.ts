/**
 * A tiny grouped bar chart as standalone SVG (no browser, no dependency), good enough to commit beside
 * docs/benchmarks.md and render on GitHub.
 */

/** One bar series: a value per category (`undefined` leaves a gap). */
export interface BarSeries {
  readonly name: string;
  readonly color: string;
  readonly values: ReadonlyArray<number | undefined>;
}

/** What to draw. */
export interface BarChart {
  readonly title: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  readonly yLabel: string;
  /** Logarithmic y axis (base 10), for values spanning orders of magnitude. @default false */
  readonly log?: boolean;
  /** Horizontal reference lines, e.g. a target. */
  readonly references?: ReadonlyArray<{ readonly value: number; readonly label: string }>;
  /** Text printed above each bar. @default the value, rounded */
  readonly label?: (value: number) => string;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const niceCeil = (value: number): number => {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
};

const defaultLabel = (value: number): string =>
  value >= 100
    ? Math.round(value).toLocaleString('en-US')
    : value >= 1
      ? String(Math.round(value * 100) / 100)
      : String(Number(value.toPrecision(2)));

/** Renders the chart as an SVG document. */
export function barChartSvg(chart: BarChart): string {
  const width = 760;
  const height = 380;
  const margin = { top: 48, right: 20, bottom: 64, left: 72 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  const refs = chart.references ?? [];
  const top = Math.max(...all, ...refs.map((r) => r.value), 1);
  const log = chart.log ?? false;
  const label = chart.label ?? defaultLabel;
  const positive = all.filter((v) => v > 0);
  const logMin = Math.min(0, Math.floor(Math.log10(Math.min(...positive, 1))));
  const logMax = Math.ceil(Math.log10(top) + 0.15);
  const linearMax = niceCeil(top * 1.1);
  const y = (value: number): number => {
    const fraction = log
      ? (Math.log10(Math.max(10 ** logMin, value)) - logMin) / (logMax - logMin)
      : value / linearMax;
    return margin.top + plotH * (1 - Math.min(1, Math.max(0, fraction)));
  };
  const ticks = log
    ? Array.from({ length: logMax - logMin + 1 }, (_, i) => 10 ** (logMin + i))
    : Array.from({ length: 6 }, (_, i) => (linearMax * i) / 5);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (const tick of ticks) {
    const ty = y(tick);
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${ty}" y2="${ty}" stroke="#ddd"/>`,
      `<text x="${margin.left - 6}" y="${ty + 4}" text-anchor="end">${escapeXml(defaultLabel(tick))}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(
      chart.yLabel + (log ? ' (log scale)' : ''),
    )}</text>`,
  );
  const groupW = plotW / Math.max(1, chart.categories.length);
  const barW = Math.min(48, (groupW * 0.8) / Math.max(1, chart.series.length));
  chart.categories.forEach((category, ci) => {
    const groupX = margin.left + ci * groupW + (groupW - barW * chart.series.length) / 2;
    chart.series.forEach((series, si) => {
      const value = series.values[ci];
      if (value === undefined) return;
      const x = groupX + si * barW;
      const by = y(value);
      const bh = Math.max(1, margin.top + plotH - by);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(margin.top + plotH - bh).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${series.color}"><title>${escapeXml(`${series.name} ${category}: ${label(value)}`)}</title></rect>`,
        `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(margin.top + plotH - bh - 4).toFixed(1)}" text-anchor="middle" font-size="11">${escapeXml(label(value))}</text>`,
      );
    });
    parts.push(
      `<text x="${(margin.left + ci * groupW + groupW / 2).toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="middle">${escapeXml(category)}</text>`,
    );
  });
  for (const ref of refs) {
    const ry = y(ref.value);
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${ry}" y2="${ry}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${width - margin.right - 4}" y="${ry - 4}" text-anchor="end" fill="#c00">${escapeXml(ref.label)}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`,
  );
  let lx = margin.left;
  for (const series of chart.series) {
    parts.push(
      `<rect x="${lx}" y="${height - 22}" width="12" height="12" fill="${series.color}"/>`,
      `<text x="${lx + 16}" y="${height - 12}">${escapeXml(series.name)}</text>`,
    );
    lx += 24 + series.name.length * 7;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
