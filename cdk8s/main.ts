/**
 * The cdk8s app: `npm run cdk8s:synth` (or `cdk8s synth` in this folder) writes the operator's install manifests
 * and the example agency to cdk8s/dist/. The same manifests are checked in as deploy/install.yaml and
 * examples/cdk8s/agency.yaml by `npm run generate`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'cdk8s';
import { AgencyExample } from './charts/agency.js';
import { OperatorInstall } from './lib/operator-install.js';

const app = new App({
  outdir: process.env.CDK8S_OUTDIR ?? join(fileURLToPath(new URL('.', import.meta.url)), 'dist'),
});
new OperatorInstall(app, 'install');
new AgencyExample(app, 'agency');
app.synth();
