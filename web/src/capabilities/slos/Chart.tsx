/**
 * A time-series chart drawn with uPlot (docs/dependencies.md): one x axis of instants, one or
 * more lines. Created when mounted and destroyed when unmounted; redrawn when the data change,
 * resized with its container.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartLine {
  label: string;
  values: (number | null)[];
  colour: string;
  /** Draw as steps (a state), not a line. */
  steps?: boolean;
}

const HEIGHT = 220;

export function Chart({
  title,
  times,
  lines,
  unit,
  testId,
  yRange,
  ticks,
}: {
  title: string;
  /** Seconds since the epoch. */
  times: number[];
  lines: ChartLine[];
  unit: (v: number) => string;
  testId?: string;
  yRange?: [number, number];
  /** Where the y axis has its ticks (a state's values); uPlot chooses when not given. */
  ticks?: number[];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const opts: uPlot.Options = {
      title,
      width: Math.max(320, el.clientWidth || 720),
      height: HEIGHT,
      scales: { x: { time: true }, ...(yRange ? { y: { range: yRange } } : {}) },
      axes: [{}, { values: (_u, vs) => vs.map(unit), size: 70, ...(ticks ? { splits: () => ticks } : {}) }],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.colour,
          width: 2,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : unit(v)),
          ...(l.steps ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        })),
      ],
    };
    const plot = new uPlot(opts, [times, ...lines.map((l) => l.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [title, times, lines, unit, yRange, ticks]);
  return <div className="chart" ref={box} data-testid={testId} aria-label={title} role="img" />;
}
