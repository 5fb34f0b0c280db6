/**
 * Loaded before the `ws` package (cli/serve-ws.ts imports it first): `ws`
 * loads the optional native addons `bufferutil` and `utf-8-validate` when
 * they resolve, and these two variables keep it from trying. So the page's
 * WebSocket is `ws`'s JavaScript (with node's own `buffer.isUtf8`) whatever
 * else is installed beside packeteye.
 */
process.env.WS_NO_BUFFER_UTIL = '1';
process.env.WS_NO_UTF_8_VALIDATE = '1';

export {};
