// A small React wrapper around ECharts for the console's dashboard: one chart
// per element, only the chart types and components the dashboard draws
// (tree-shaken from echarts/core), resized with its container, disposed on
// unmount. Options are plain ECharts options built by pure functions.

import { BarChart, FunnelChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([BarChart, LineChart, PieChart, FunnelChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** The option object ECharts takes (its setOption argument). */
export type ChartOption = echarts.EChartsCoreOption;

export interface ChartProps {
  option: ChartOption;
  /** Height in pixels; the width follows the container. */
  height?: number;
  /** The chart's accessible name (ECharts draws on a canvas). */
  label: string;
  testid?: string;
}

/** Chart draws option; a new option replaces the previous one. */
export function Chart({ option, height = 260, label, testid }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true, lazyUpdate: true });
  }, [option]);

  return <div ref={el} role="img" aria-label={label} data-testid={testid} style={{ width: '100%', height }} />;
}
