import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'binaries',
  'build.sh',
);

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
}

/**
 * The control-plane binaries, built from their Go modules on first use and cached outside the clone
 * (test/binaries/build.sh). Progress of a first build goes to this process's stderr.
 */
export async function binaryDirs(
  which: 'all' | 'etcd' | 'kube' | 'helm' | 'promtool' = 'all',
): Promise<Record<string, string>> {
  const dirs: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT, which], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0)
        return reject(new Error(`test/binaries/build.sh ${which} failed with exit code ${code}`));
      for (const line of out.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) dirs[line.slice(0, eq)] = line.slice(eq + 1);
      }
      resolve();
    });
  });
  return dirs;
}

export async function controlPlaneBinaries(): Promise<Binaries> {
  const dirs = await binaryDirs('all');
  const etcd = dirs.etcd;
  const kube = dirs.kube;
  if (!etcd || !kube) throw new Error('test/binaries/build.sh did not report the etcd and kube folders');
  return {
    etcd: join(etcd, 'etcd'),
    kubeApiserver: join(kube, 'kube-apiserver'),
    kubeControllerManager: join(kube, 'kube-controller-manager'),
    kubectl: join(kube, 'kubectl'),
  };
}
