/**
 * A GitOps repository's cdk8s app that installs the constructs as a package:
 *
 *   npm install @taskjuice/workspace-operator-cdk8s cdk8s cdk8s-plus-27 constructs
 *
 * It declares the operator's installation and one agency (the same agency as agency.yaml beside this file), and
 * `node app.js` (after tsc) or `cdk8s synth` writes dist/install.k8s.yaml and dist/agency.k8s.yaml for Argo CD or
 * Flux to apply. test/ship/cdk8s-package.test.ts runs this file against a packed build of cdk8s/.
 */
import { App, Chart, Duration } from 'cdk8s';
import { Account, OperatorInstall } from '@taskjuice/workspace-operator-cdk8s';

const app = new App();

// CRDs, RBAC, the Deployment, its webhook and admission policies; every prop has a default (see OperatorInstallProps).
new OperatorInstall(app, 'install', { replicas: 2 });

// An agency with three teammates, two client workspaces and an invitation for one client.
const agency = new Chart(app, 'agency');
const tailspin = new Account(agency, 'tailspin', {
  name: 'tailspin',
  displayName: 'Tailspin Creative',
  plan: 'growth',
  teammates: [{ email: 'nora@tailspin.example', role: 'Owner' }],
});
tailspin.addTeammate('liam@tailspin.example', 'Admin').addTeammate('ava@tailspin.example', 'Member');

const wingtip = tailspin.addWorkspace('wingtip', {
  displayName: 'Wingtip Toys',
  description: 'Holiday catalogue and the store relaunch.',
});
tailspin.addWorkspace('adventure-works', {
  displayName: 'Adventure Works',
  betaOptIn: false,
  approvalTimeout: Duration.hours(4),
});
wingtip.invite('maria@wingtiptoys.example');

app.synth();
