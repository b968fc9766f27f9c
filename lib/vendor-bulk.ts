/**
 * The Bulk API slots in the construct: their dashboard row. The slots live in the budget table (an item per
 * instance beside the budget's) and are served by the vend function, whose budget-table access and
 * environment (vendor-budget.ts) they share.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { MarketoTokenVendor } from './marketo-token-vendor.js';

/** The dashboard row: slots granted / waited / reclaimed / unmetered / refused, export bytes and quota used. */
export function bulkWidgets(vendor: MarketoTokenVendor): cloudwatch.IWidget[] {
  const period = Duration.minutes(5);
  const sum = (name: string, label: string) => vendor.metric(name, { label, period });
  return [
    new cloudwatch.GraphWidget({
      title: 'Bulk API slots',
      left: [
        sum('BulkSlotsGranted', 'granted'),
        sum('BulkSlotsWaited', 'waited (every place held, or the quota in flight)'),
        sum('BulkSlotsReclaimed', 'ended after its lease lapsed'),
        sum('BulkSlotsUnmetered', 'unmetered'),
        sum('DailyExportQuotaRefusals', 'export quota used up'),
      ],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Bulk export: bytes and daily quota used',
      left: [sum('BulkExportBytes', 'bytes exported')],
      right: [
        vendor.metric('DailyExportQuotaUsedPercent', {
          statistic: 'Maximum',
          label: 'daily export quota used % (highest instance)',
          period,
        }),
      ],
      rightYAxis: { min: 0, max: 100 },
      width: 12,
    }),
  ];
}
