// Table columns whose cells stay on one line: a wide table scrolls
// sideways (on a phone too) instead of breaking figures over lines.

import type { ColumnsType } from 'antd/es/table';

const style = { style: { whiteSpace: 'nowrap' as const } };

/** The columns with every cell and header kept on one line. */
export function nowrap<T>(columns: ColumnsType<T>): ColumnsType<T> {
  return columns.map((c) => ({ ...c, onCell: () => style, onHeaderCell: () => style }));
}
