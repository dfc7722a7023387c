/**
 * Provisioning states that mean "an operation is still running on this resource". A write sent
 * then is refused (409 AnotherOperationInProgress, ContainerAppLockConflict, ...), so a run that
 * finds one — left by a cancelled workflow or a lost runner — waits for it to end first.
 * Values: ARM RPC (`Accepted`, `Creating`, `Updating`, `Deleting`), Microsoft.App
 * (`InProgress`, `Waiting`, `InitializationInProgress`, `InfrastructureSetupInProgress`,
 * `InfrastructureSetupComplete`, `ScheduledForDelete`, `UpgradeRequested`), Log Analytics
 * (`ProvisioningAccount`), Storage (`ResolvingDNS`), PostgreSQL server `state` (`Provisioning`,
 * `Updating`, `Dropping`, `Starting`, `Stopping`, `Restarting`) — from the SDK models' Known*
 * enums (`reference/azure-arm-contract.md` §3).
 */
const TRANSITIONAL = new Set(
  [
    'Accepted',
    'Creating',
    'Updating',
    'Deleting',
    'Canceling',
    'InProgress',
    'Waiting',
    'InitializationInProgress',
    'InfrastructureSetupInProgress',
    'InfrastructureSetupComplete',
    'ScheduledForDelete',
    'UpgradeRequested',
    'ProvisioningAccount',
    'ResolvingDNS',
    'Provisioning',
    'Dropping',
    'Starting',
    'Stopping',
    'Restarting'
  ].map((s) => s.toLowerCase())
)

export function isTransitional(state: string | undefined): boolean {
  return state !== undefined && TRANSITIONAL.has(state.toLowerCase())
}
