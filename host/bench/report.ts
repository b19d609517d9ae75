/**
 * How a bench report is shown: the text table the CLI prints, and the self-contained HTML page of
 * `--report` (inline SVG drawn here: no script, no stylesheet or font fetched, so the file can be
 * mailed, archived or opened offline and shows the same thing).
 */
import type { BenchReport, BenchResult, CeilingResult, ScenarioName } from './engine.js';

const SCENARIO_TITLES: Record<ScenarioName, string> = {
  'log-metric': 'awaited logMetric',
  'log-metric-async': 'fire-and-forget logMetric',
  'log-batch': 'logBatch',
  upload: 'artifact upload',
  download: 'artifact download',
  custom: 'custom method',
};

const CEILING_TITLES = {
  'raw-postmessage': 'raw postMessage round trip, same arguments',
  'in-process-call': 'in-process call per metric',
  'file-read': 'in-process file read',
} as const;

export function scenarioTitle(result: Pick<BenchResult, 'scenario' | 'method'>): string {
  return result.scenario === 'custom' ? `custom: ${result.method}` : SCENARIO_TITLES[result.scenario];
}

/** 1234567 → "1.23M". */
export function compact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100) return n.toFixed(0);
  return n.toFixed(abs >= 10 ? 1 : 2);
}

export function bytesRate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB/s`;
  return `${(n / 1e6).toFixed(1)} MB/s`;
}

export function throughputText(result: BenchResult): string {
  if (result.skipped) return 'skipped';
  if (result.error) return 'failed';
  if (result.bytesPerSec !== undefined) return bytesRate(result.bytesPerSec);
  if (result.scenario === 'log-batch')
    return `${compact(result.opsPerSec)} batches/s (${compact(result.metricsPerSec)} metrics/s)`;
  if (result.scenario === 'log-metric-async') return `${compact(result.opsPerSec)} metrics/s`;
  return `${compact(result.opsPerSec)} calls/s`;
}

const ratioText = (n: number | null) => (n === null ? '–' : `${n.toFixed(2)}x`);
const us = (n: number | null) => (n === null ? '–' : n >= 100 ? n.toFixed(0) : n.toFixed(1));

function ceilingText(result: BenchResult): string {
  if (result.ceiling === null) return '–';
  return result.ceilingName === 'file-read' ? bytesRate(result.ceiling) : `${compact(result.ceiling)}/s`;
}

export function ceilingRowTitle(c: CeilingResult): string {
  if (c.ceiling === 'raw-postmessage')
    return `raw postMessage (${c.payload}), ${c.workers} bare worker${c.workers > 1 ? 's' : ''}`;
  return CEILING_TITLES[c.ceiling];
}

/** The rows of the CLI's table (header first). */
export function tableRows(report: BenchReport): string[][] {
  const rows = [
    [
      'scenario',
      'isolation',
      'workers',
      'in flight',
      'throughput',
      'p50 µs',
      'p95 µs',
      'p99 µs',
      'vs in-process',
      'vs ceiling',
      'ceiling',
    ],
  ];
  for (const r of report.results) {
    rows.push([
      scenarioTitle(r),
      r.isolation,
      r.isolation === 'in-process' ? '–' : String(r.workers),
      String(r.concurrency),
      throughputText(r),
      us(r.p50Us),
      us(r.p95Us),
      us(r.p99Us),
      ratioText(r.ratioToInProcess),
      ratioText(r.ratioToCeiling),
      ceilingText(r),
    ]);
  }
  for (const c of report.ceilings) {
    rows.push([
      `ceiling: ${ceilingRowTitle(c)}`,
      'raw',
      c.workers ? String(c.workers) : '–',
      String(c.concurrency),
      c.unit === 'bytes/s' ? bytesRate(c.value) : `${compact(c.value)}/s`,
      us(c.p50Us),
      us(c.p95Us),
      us(c.p99Us),
      '',
      '',
      '',
    ]);
  }
  return rows;
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function machineLine(report: BenchReport): string {
  return `${report.machine.model}, ${report.machine.cpus} cores, load ${report.machine.loadavg}; Node ${report.node}`;
}

// --- HTML

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

/** A "nice" axis maximum and its ticks. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(v);
  return out;
}

interface Series {
  readonly label: string;
  readonly color: string;
  /** SVG stroke-dasharray; empty for solid. */
  readonly dash: string;
  readonly points: { x: number; y: number | null }[];
}

/** Throughput against pool size: one line per level and concurrency, ceilings dashed, in-process dotted. */
function throughputChart(title: string, unit: string, workers: readonly number[], series: Series[]): string {
  const width = 720;
  const height = 300;
  const left = 70;
  const right = 260;
  const top = 30;
  const bottom = 40;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.y ?? 0)));
  const yTicks = ticks(max);
  const yMax = yTicks.at(-1)!;
  const xAt = (w: number) =>
    left + (workers.length === 1 ? plotW / 2 : (workers.indexOf(w) / (workers.length - 1)) * plotW);
  const yAt = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">`,
  );
  parts.push(`<text x="${left}" y="18" class="title">${escape(title)}</text>`);
  for (const v of yTicks) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${yAt(v)}" y2="${yAt(v)}" class="grid"/>`);
    parts.push(
      `<text x="${left - 6}" y="${yAt(v) + 4}" class="tick" text-anchor="end">${escape(unit === 'bytes/s' ? bytesRate(v).replace('/s', '') : compact(v))}</text>`,
    );
  }
  for (const w of workers)
    parts.push(`<text x="${xAt(w)}" y="${top + plotH + 16}" class="tick" text-anchor="middle">${w}</text>`);
  parts.push(
    `<text x="${left + plotW / 2}" y="${height - 6}" class="axis" text-anchor="middle">workers in the pool</text>`,
  );
  parts.push(
    `<text x="14" y="${top + plotH / 2}" class="axis" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">${escape(unit)}</text>`,
  );
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" class="axisline"/><line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" class="axisline"/>`,
  );
  series.forEach((s, i) => {
    const points = s.points.filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y));
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    if (points.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points.map((p) => `${xAt(p.x).toFixed(1)},${yAt(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of points)
      parts.push(
        `<circle cx="${xAt(p.x).toFixed(1)}" cy="${yAt(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${escape(`${s.label}: ${unit === 'bytes/s' ? bytesRate(p.y) : `${compact(p.y)} ${unit}`}`)}</title></circle>`,
      );
    const ly = top + 10 + i * 16;
    parts.push(
      `<line x1="${width - right + 12}" x2="${width - right + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${width - right + 42}" y="${ly + 4}" class="legend">${escape(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One result's latency distribution: a bar per bucket (log-scaled µs), p50 and p99 marked. */
function histogramChart(result: BenchResult): string {
  const width = 300;
  const height = 160;
  const left = 36;
  const bottom = 30;
  const top = 38;
  const plotW = width - left - 10;
  const plotH = height - top - bottom;
  const buckets = result.histogram;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
  ];
  const title = `${scenarioTitle(result)} · ${result.isolation}${result.isolation === 'in-process' ? '' : ` · ${result.workers}w`} · ${result.concurrency} in flight`;
  parts.push(`<text x="4" y="13" class="small-title">${escape(title)}</text>`);
  if (buckets.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" class="tick" text-anchor="middle">no samples</text></svg>`);
    return parts.join('');
  }
  const lo = Math.log10(Math.max(0.5, buckets[0][0] / 1.2));
  const hi = Math.log10(buckets.at(-1)![0] * 1.05);
  const span = Math.max(0.3, hi - lo);
  const xAt = (v: number) => left + ((Math.log10(Math.max(v, 1e-3)) - lo) / span) * plotW;
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  const peak = Math.max(...buckets.map(([, c]) => c / total));
  let previous = buckets[0][0] / 1.125;
  for (const [upper, count] of buckets) {
    const x0 = xAt(previous);
    const x1 = xAt(upper);
    const h = (count / total / peak) * plotH;
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(1, x1 - x0 - 0.5).toFixed(1)}" height="${h.toFixed(1)}" class="bar"><title>${escape(`≤ ${us(upper)} µs: ${((count / total) * 100).toFixed(1)}%`)}</title></rect>`,
    );
    previous = upper;
  }
  // p50 and p99 labelled on two lines, so close percentiles do not overwrite each other.
  for (const [label, value, y] of [
    ['p50', result.p50Us, top - 16],
    ['p99', result.p99Us, top - 4],
  ] as const) {
    if (value === null) continue;
    const x = xAt(value);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y + 2}" y2="${top + plotH}" class="marker"/>`);
    parts.push(
      `<text x="${Math.min(width - 30, Math.max(24, x)).toFixed(1)}" y="${y}" class="tick" text-anchor="middle">${label} ${us(value)}</text>`,
    );
  }
  // Decade ticks on the log axis.
  for (let d = Math.ceil(lo); d <= Math.floor(lo + span); d++) {
    parts.push(
      `<text x="${xAt(10 ** d).toFixed(1)}" y="${top + plotH + 14}" class="tick" text-anchor="middle">${escape(compact(10 ** d))}</text>`,
    );
  }
  parts.push(
    `<text x="${left + plotW / 2}" y="${height - 2}" class="axis" text-anchor="middle">latency, µs (log)</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

function seriesFor(
  report: BenchResult[],
  ceilings: CeilingResult[],
  scenario: ScenarioName,
  workers: readonly number[],
): { series: Series[]; unit: string } {
  const mine = report.filter((r) => r.scenario === scenario);
  const bytes = scenario === 'upload' || scenario === 'download';
  const unit = bytes
    ? 'bytes/s'
    : scenario === 'log-batch'
      ? 'batches/s'
      : scenario === 'log-metric-async'
        ? 'metrics/s'
        : 'calls/s';
  const figure = (r: BenchResult) => (bytes ? (r.bytesPerSec ?? null) : (r.opsPerSec ?? null));
  const concurrencies = [...new Set(mine.map((r) => r.concurrency))];
  const levels = [...new Set(mine.map((r) => r.isolation))].filter((l) => l !== 'in-process');
  // Levels other than in-process are told apart by dash (solid for the first): colour is concurrency.
  const dashes = ['', '10 2 2 2', '6 2 1 2 1 2'];
  const series: Series[] = [];
  concurrencies.forEach((c, ci) => {
    const color = PALETTE[ci % PALETTE.length];
    levels.forEach((level, li) => {
      series.push({
        label: `${level}, ${c} in flight`,
        color,
        dash: dashes[li % dashes.length],
        points: workers.map((w) => ({
          x: w,
          y: figure(
            mine.find((r) => r.isolation === level && r.workers === w && r.concurrency === c) ?? ({} as BenchResult),
          ),
        })),
      });
    });
    const local = mine.find((r) => r.isolation === 'in-process' && r.concurrency === c);
    if (local)
      series.push({
        label: `in-process, ${c} in flight`,
        color,
        dash: '2 3',
        points: workers.map((w) => ({ x: w, y: figure(local) })),
      });
    // The ceiling each point is compared with: per pool size for postMessage, one figure otherwise.
    const sample = mine.find((r) => r.concurrency === c);
    if (sample && sample.ceilingName === 'raw-postmessage') {
      const payload = scenario === 'log-metric' ? 'metric' : scenario === 'log-batch' ? 'batch' : 'custom';
      series.push({
        label: `raw postMessage, ${c} in flight`,
        color,
        dash: '8 4',
        points: workers.map((w) => ({
          x: w,
          y:
            ceilings.find(
              (k) => k.ceiling === 'raw-postmessage' && k.payload === payload && k.workers === w && k.concurrency === c,
            )?.value ?? null,
        })),
      });
    }
  });
  const single = mine.find((r) => r.ceilingName !== 'raw-postmessage' && r.ceiling !== null);
  if (single)
    series.push({
      label: single.ceilingName === 'file-read' ? 'in-process file read' : 'in-process call',
      color: '#555',
      dash: '8 4',
      points: workers.map((w) => ({ x: w, y: single.ceiling })),
    });
  return { series, unit };
}

export function renderHtml(report: BenchReport): string {
  const rows = tableRows(report);
  const scenarios = [...new Set(report.results.map((r) => r.scenario))];
  const charts = scenarios
    .map((scenario) => {
      const { series, unit } = seriesFor(report.results, report.ceilings, scenario, report.options.workers);
      const first = report.results.find((r) => r.scenario === scenario)!;
      return throughputChart(
        `${scenarioTitle(first)}: throughput against workers`,
        unit,
        report.options.workers,
        series,
      );
    })
    .join('\n');
  const histograms = report.results.map((r) => `<figure>${histogramChart(r)}</figure>`).join('\n');
  const failed = report.results.filter((r) => r.error || r.skipped);
  const o = report.options;
  const table = (cells: string[][]) =>
    `<table><thead><tr>${cells[0].map((c) => `<th>${escape(c)}</th>`).join('')}</tr></thead><tbody>${cells
      .slice(1)
      .map((row) => `<tr>${row.map((c, i) => `<td${i >= 2 ? ' class="num"' : ''}>${escape(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowhost bench, ${escape(report.startedAt)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f4f4f4; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; border: 1px solid #eee; }
svg text { font-family: system-ui, sans-serif; fill: #333; } .title { font-size: 13px; font-weight: 600; } .small-title { font-size: 10.5px; font-weight: 600; }
.tick { font-size: 10px; fill: #555; } .axis { font-size: 11px; fill: #444; } .legend { font-size: 11px; }
.grid { stroke: #eee; } .axisline { stroke: #999; } .bar { fill: #4e79a7; } .marker { stroke: #d62728; stroke-dasharray: 3 2; }
.note { color: #555; max-width: 60em; } .error { color: #b00020; }
</style>
</head>
<body>
<h1>flowhost bench</h1>
<p>${escape(machineLine(report))}. Started ${escape(report.startedAt)}.</p>
<p class="note">Tracking store: <code>${escape(o.trackingUri)}</code>; artifact repository: <code>${escape(o.artifactUri)}</code>.
${o.rounds} rounds, ${o.count !== null ? `${o.count} operations` : `${o.durationMs} ms`} per figure per round, every figure and ceiling interleaved in each round; medians shown.
Artifacts of ${escape(bytesRate(o.sizeBytes).replace('/s', ''))}; batches of ${o.batchSize} metrics.
Ratios are what to compare across machines: on a shared machine absolute figures move by ±30%.</p>
<h2>Results</h2>
${table(rows)}
${failed.length ? `<h2>Not measured</h2><ul>${failed.map((r) => `<li class="${r.error ? 'error' : ''}">${escape(`${scenarioTitle(r)} · ${r.isolation} · ${r.workers} workers · ${r.concurrency} in flight: ${r.error ? 'failed: ' + r.error : 'skipped: ' + r.skipped}`)}</li>`).join('')}</ul>` : ''}
<h2>Throughput against workers</h2>
<p class="note">Solid: the isolation level measured; dotted: the same scenario in-process; dashed: the raw ceiling it is compared with.</p>
<div class="charts">
${charts}
</div>
<h2>Latency histograms</h2>
<div class="charts">
${histograms}
</div>
${report.pluginStderr.length ? `<h2>Plugin stderr</h2><pre>${escape(report.pluginStderr.join('\n'))}</pre>` : ''}
</body>
</html>
`;
}
