// The limit of the platform: a bare node:http server answering fixed JSON from memory.
// Usage: node bench/baseline-server.mjs PORT 'JSON BODY' [STATUS]
import { createServer } from 'node:http';

const [port, body = '{}', status = '200'] = process.argv.slice(2);
const bytes = Buffer.from(body);
createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(Number(status), { 'content-type': 'application/json', 'content-length': bytes.length });
    res.end(bytes);
  });
}).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
