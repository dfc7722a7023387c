/** Wires every resource kind's routes and completion handlers into one router. */
import type { EmulatorContext } from '../context.js'
import type { Router } from '../router.js'
import { registerAuthTokens } from './authTokens.js'
import { RevisionLifecycle, registerContainerAppRevisions } from './containerAppRevisions.js'
import { registerContainerApps } from './containerApps.js'
import { JobRunner, registerJobs } from './jobs.js'
import { registerManagedEnvironments } from './managedEnvironments.js'
import { registerMlWorkspaces } from './mlWorkspaces.js'
import { registerOperations } from './operations.js'
import { registerPermissions } from './permissions.js'
import { registerPostgresServers } from './postgresServers.js'
import { registerPrivateDnsZones } from './privateDnsZones.js'
import { ProviderRegistry, registerProviders } from './providers.js'
import { registerResourceGroups } from './resourceGroups.js'
import { registerRoleAssignments } from './roleAssignments.js'
import { registerUserAssignedIdentities } from './userAssignedIdentities.js'
import { findPrincipal } from '../identity.js'
import { tenantOf } from '../random.js'
import { registerStorageAccounts } from './storageAccounts.js'
import { registerVirtualNetworks } from './virtualNetworks.js'
import { registerWorkspaces } from './workspaces.js'

export interface Resources {
  providers: ProviderRegistry
  revisions: RevisionLifecycle
  jobs: JobRunner
}

export function registerResources(ctx: EmulatorContext, router: Router): Resources {
  const providers = new ProviderRegistry(ctx)
  const revisions = new RevisionLifecycle(ctx)
  const jobs = new JobRunner(ctx)
  registerProviders(ctx, router, providers)
  registerResourceGroups(ctx, router)
  registerOperations(ctx, router)
  registerVirtualNetworks(ctx, router)
  registerPrivateDnsZones(ctx, router)
  registerWorkspaces(ctx, router)
  registerStorageAccounts(ctx, router)
  registerMlWorkspaces(ctx, router)
  registerPostgresServers(ctx, router)
  registerManagedEnvironments(ctx, router)
  registerContainerApps(ctx, router, revisions)
  registerContainerAppRevisions(ctx, router, revisions)
  registerJobs(ctx, router, jobs)
  registerAuthTokens(ctx, router)
  registerUserAssignedIdentities(ctx, router)
  registerRoleAssignments(ctx, router, (id) => findPrincipal(ctx, id), tenantOf)
  registerPermissions(ctx, router)
  return { providers, revisions, jobs }
}
