using System.Globalization;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.Contracts.Exchange;
using Oversight.BuildingBlocks.Errors;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Infrastructure.Vault;

namespace Oversight.Exchange.Application;

/// <summary>
/// A subject's erasure, asked through their platform: every record of that subject in that platform's
/// datasets leaves the vault, in the transaction that records the request as handled, with its audit
/// entry (the subject named only by the log's keyed hash) and the confirmation back to Consent.
/// Deliveries already made are not undone (they are the recipients' to purge); the next page of any
/// delivery no longer finds the records.
/// </summary>
public sealed class SubjectErasure(DatasetRepository datasets, VaultRepository vault, DatasetKeys keys, ModuleAuditLog<ExchangeDatabase> audit, TimeProvider time)
{
    public async Task<long> EraseAsync(DbSession session, string erasureRequestId, string subjectId, string controllerId)
    {
        var now = time.UtcNowToMillisecond();
        var erased = 0L;
        foreach (var dataset in await datasets.OwnedByAsync(session.Connection, controllerId, session.Transaction, session.CancellationToken))
        {
            DataKey? key;
            try
            {
                key = await keys.ExistingAsync(dataset.Id, session.CancellationToken);
            }
            catch (FailedPreconditionException exception)
            {
                // The data key's master key is missing from the configuration: the erasure waits for it, never parked.
                throw new WaitingForOperatorException($"The erasure cannot reach dataset {dataset.Id}: {exception.Message}", exception);
            }

            if (key is null)
            {
                continue;
            }

            var count = await vault.EraseSubjectAsync(session, dataset.Id, key.SubjectRef(subjectId));
            if (count > 0)
            {
                await datasets.AddToRecordCountAsync(session, dataset.Id, -count);
                erased += count;
            }
        }

        await audit.Log.AppendAsync(session, new AuditRecord(
            Contracts.Producers.Exchange, "service", "vault.subject_erased", $"erasure/{erasureRequestId}", AuditOutcomes.Succeeded,
            $"{erased} record(s) of the subject erased from {controllerId}'s datasets", SubjectId: subjectId,
            Detail: new Dictionary<string, string>
            {
                ["controller_id"] = controllerId,
                ["erased"] = erased.ToString(CultureInfo.InvariantCulture),
                [AuditRecords.Parties] = controllerId,
            }));
        await ExchangeEvents.EnqueueAsync(session, new SubjectErasureCompleted
        {
            ErasureRequestId = erasureRequestId, SubjectId = subjectId, ErasedRecordCount = erased, CompletedAt = now,
        }, now, 1);
        return erased;
    }
}
