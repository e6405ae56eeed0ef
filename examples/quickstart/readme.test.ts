import { expect, it, vi } from 'vitest';

it("the README's pipeline compiles, runs and prints its summary and trace", async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  await import('./readme-pipeline.js');
  expect(log.mock.calls[0]?.[0]).toMatchObject({ read: 1, written: 1, skipped: 0, deadLettered: 0, inFlight: 0 });
  expect(log.mock.calls[1]?.[0]).toEqual([expect.objectContaining({ type: 'written', key: '1042' })]);
  log.mockRestore();
});
