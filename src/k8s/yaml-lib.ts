/**
 * The YAML packages, loaded when first used: a JSON input with text output
 * reads no YAML (the `yaml` package took about 30 ms of every command to
 * load, js-yaml about 6). Loaded with `require`, which both packages give for
 * Node (`yaml` is CommonJS either way: an `import` of it elsewhere is this
 * same instance).
 */
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');
type JsYaml = typeof import('js-yaml');

const load = createRequire(import.meta.url);
let yamlLib: Yaml | undefined;
let jsYamlLib: JsYaml | undefined;

/** The `yaml` package. */
export function yaml(): Yaml {
  return (yamlLib ??= load('yaml') as Yaml);
}

/** The `js-yaml` package. */
export function jsYaml(): JsYaml {
  return (jsYamlLib ??= load('js-yaml') as JsYaml);
}
