// A small React wrapper around ECharts for the lab and stock screens: it
// registers only the bar chart and the components they use, sets the option
// whenever it changes, follows the container's width, and disposes of the
// chart on unmount.

import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef, type CSSProperties } from 'react';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

/** An ECharts option as echarts/core accepts it. */
export type ChartOption = Parameters<echarts.ECharts['setOption']>[0];

export interface EChartProps {
  option: ChartOption;
  height: number;
  /** The chart's accessible name (the figures are also in a table). */
  label: string;
  id?: string;
  style?: CSSProperties;
  /** Extra data-* attributes on the container (e.g. the plotted figures). */
  data?: Record<string, string>;
}

/** Renders option into a div of the given height and the parent's width. */
export function EChart({ option, height, label, id, style, data }: EChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const c = echarts.init(node, undefined, { renderer: 'svg' });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(node);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) attrs[`data-${k}`] = v;
  return <div ref={el} id={id} role="img" aria-label={label} style={{ width: '100%', height, ...style }} {...attrs} />;
}
