/** A metric's history as a small line on a canvas (no chart library: one path, drawn once). */
import { useEffect, useRef } from 'preact/hooks';

export function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const w = c.width;
    const h = c.height;
    ctx.clearRect(0, 0, w, h);
    const finite = values.filter(Number.isFinite);
    if (finite.length < 2) return;
    const min = Math.min(...finite);
    const max = Math.max(...finite);
    const span = max - min || 1;
    ctx.strokeStyle = '#2563eb';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const x = (i / (values.length - 1)) * (w - 2) + 1;
      const y = h - 1 - ((v - min) / span) * (h - 2);
      if (started) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      started = true;
    });
    ctx.stroke();
  }, [values]);
  return <canvas ref={canvas} class="sparkline" width={120} height={28} role="img" aria-label={label} />;
}
