/**
 * A list that renders only the rows in view (plus a margin): 10,000 runs scroll with a few dozen
 * rows in the page. Rows have one fixed height; the scroll container keeps the full height.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface VirtualListProps {
  readonly count: number;
  readonly rowHeight: number;
  readonly height: number;
  readonly renderRow: (index: number) => ComponentChildren;
  /** Called when the last rows come into view: load the next page. */
  readonly onNearEnd?: () => void;
  readonly header?: ComponentChildren;
  readonly label: string;
}

const OVERSCAN = 8;

export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, height, renderRow, onNearEnd } = props;
  const [scrollTop, setScrollTop] = useState(0);
  const frame = useRef(0);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  useEffect(() => {
    if (onNearEnd && last >= count - OVERSCAN && count > 0) onNearEnd();
  }, [last, count]);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div
        class="vrow"
        role="row"
        aria-rowindex={i + 2}
        key={i}
        style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}
      >
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      class="vlist"
      role="table"
      aria-label={props.label}
      aria-rowcount={count + 1}
      tabIndex={0}
      style={{ height: `${height}px` }}
      onScroll={(event) => {
        const target = event.currentTarget as HTMLDivElement;
        // One state update per frame however many scroll events arrive.
        cancelAnimationFrame(frame.current);
        frame.current = requestAnimationFrame(() => setScrollTop(target.scrollTop));
      }}
    >
      {props.header}
      <div class="vbody" style={{ height: `${count * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
