/** piscina's task for the kernel benchmark: the same trivial work as the in-memory plugin's logMetric. */
export default function logMetric(message: unknown): unknown {
  return message === undefined ? null : undefined;
}
