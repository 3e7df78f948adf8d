/**
 * The floor of the webhook benchmark: a bare Node HTTPS server that reads each request's body and answers one
 * fixed AdmissionReview, with the operator's certificate and keep-alive settings. webhook.ts starts it as a process
 * of its own, as the operator is: CERT_FILE, KEY_FILE and PORT in its environment.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';

const answer = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: 'bare', allowed: true },
});

const server = https.createServer(
  {
    cert: readFileSync(process.env.CERT_FILE ?? ''),
    key: readFileSync(process.env.KEY_FILE ?? ''),
    minVersion: 'TLSv1.2',
  },
  (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  },
);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
