import { readFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';

it("the README's pipeline is this example, word for word", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /## A pipeline in 20 lines[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  const example = readFileSync(new URL('./readme-pipeline.ts', import.meta.url), 'utf8');
  expect(example.split('\n').slice(1).join('\n')).toBe(block);
});

it("the README's pipeline compiles, runs and prints its summary and trace", async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  await import('./readme-pipeline.js');
  expect(log.mock.calls[0]?.[0]).toMatchObject({ read: 1, written: 1, skipped: 0, deadLettered: 0, inFlight: 0 });
  expect(log.mock.calls[1]?.[0]).toEqual([expect.objectContaining({ type: 'written', key: '1042' })]);
  log.mockRestore();
});
