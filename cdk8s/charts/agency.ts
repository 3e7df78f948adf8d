import { Chart, Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { Account } from '../lib/account.js';

/**
 * A whole agency as a GitOps repository would declare it: an Account with its teammates, two client Workspaces
 * and an invitation for one client. Sync-wave annotations (Argo CD) and the order of the synthesized file
 * (`kubectl apply`) put the account first, then its workspaces, then the invitation.
 */
export class AgencyExample extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const agency = new Account(this, 'tailspin', {
      name: 'tailspin',
      displayName: 'Tailspin Creative',
      plan: 'growth',
      teammates: [{ email: 'nora@tailspin.example', role: 'Owner' }],
    });
    agency.addTeammate('liam@tailspin.example', 'Admin').addTeammate('ava@tailspin.example', 'Member');

    const wingtip = agency.addWorkspace('wingtip', {
      displayName: 'Wingtip Toys',
      description: 'Holiday catalogue and the store relaunch.',
    });
    agency.addWorkspace('adventure-works', {
      displayName: 'Adventure Works',
      betaOptIn: false,
      approvalTimeout: Duration.hours(4),
    });
    wingtip.invite('maria@wingtiptoys.example');
  }
}
