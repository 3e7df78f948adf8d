import { describe, expect, it } from 'vitest';
import { metricNames } from './promql.js';

describe('metricNames', () => {
  it('finds the metrics of an expression and leaves out functions, grouping labels, matchers and ranges', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, controller) (rate(foo_seconds_bucket{a="b", c=~"x|y"}[5m])))\n' +
          '  / on (controller) group_left bar_total > 0.1 and min(baz) - time() < 14 * 86400',
      ),
    ).toEqual(new Set(['foo_seconds_bucket', 'bar_total', 'baz']));
  });

  it('ignores Grafana variables and units in ranges', () => {
    expect(metricNames('sum(rate(x_total{namespace=~"$namespace"}[$__rate_interval]))')).toEqual(
      new Set(['x_total']),
    );
  });
});
