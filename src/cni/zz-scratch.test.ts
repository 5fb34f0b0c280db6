import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { main } from '../cli/main.js';
import { memoryIo } from '../cli/io.js';
it('scratch', async () => {
  const args = JSON.parse(process.env['PE_ARGS'] ?? '[]') as string[];
  const files: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) if (args[i] === '-f') files[args[i + 1]!] = readFileSync(args[i + 1]!, 'utf8');
  const io = memoryIo(files);
  const rc = await main(args, io);
  process.stdout.write(`rc=${rc}\n${io.stdout}\n${io.stderr}\n`);
});
