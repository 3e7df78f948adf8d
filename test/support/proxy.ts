/**
 * The TCP proxy tests put in front of a real server to cut it (an outage); it lives with the local platform so that
 * the chaos tool (operator/tools/chaos) uses the same one.
 */
export { TcpProxy as CuttableProxy } from '../../operator/tools/local/proxy.js';
