import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { main } from '../cli/main.js';
import { memoryIo } from '../cli/io.js';
it('x', async () => {
  const files: Record<string,string> = {};
  for (const f of ['examples/same-node.yaml','examples/two-nodes.yaml','examples/hairpin.yaml']) files[f] = readFileSync(f,'utf8');
  files['masq.yaml'] = files['examples/two-nodes.yaml']!.replace('  cloud:\n', '  masquerade:\n    enabled: true\n  cloud:\n');
  for (const args of JSON.parse(process.env.PE_ARGS ?? '[]') as string[][]) {
    const io = memoryIo(files);
    const code = await main(args, io);
    process.stdout.write('$ ' + args.join(' ') + '\n' + io.stdout + io.stderr + `exit ${code}\n`);
  }
});
