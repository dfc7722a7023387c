/**
 * Azure public-cloud regions: the name ARM ids and most RPs use (`westeurope`) and the display name
 * some RPs answer instead (`West Europe`). Source: `Azure/azure-sdk-for-net`,
 * `sdk/core/Azure.Core/src/AzureLocation.cs` (public-cloud entries). Regions missing from it are
 * refused, which is stricter than Azure for the few newest regions.
 */
import { badRequest, type ArmError } from './errors.js'

const REGIONS: Record<string, string> = {
  eastasia: 'East Asia',
  southeastasia: 'Southeast Asia',
  centralus: 'Central US',
  eastus: 'East US',
  eastus2: 'East US 2',
  westus: 'West US',
  westus2: 'West US 2',
  westus3: 'West US 3',
  northcentralus: 'North Central US',
  southcentralus: 'South Central US',
  northeurope: 'North Europe',
  westeurope: 'West Europe',
  japanwest: 'Japan West',
  japaneast: 'Japan East',
  brazilsouth: 'Brazil South',
  australiaeast: 'Australia East',
  australiasoutheast: 'Australia Southeast',
  southindia: 'South India',
  centralindia: 'Central India',
  westindia: 'West India',
  canadacentral: 'Canada Central',
  canadaeast: 'Canada East',
  uksouth: 'UK South',
  ukwest: 'UK West',
  westcentralus: 'West Central US',
  koreacentral: 'Korea Central',
  koreasouth: 'Korea South',
  francecentral: 'France Central',
  francesouth: 'France South',
  australiacentral: 'Australia Central',
  australiacentral2: 'Australia Central 2',
  uaecentral: 'UAE Central',
  uaenorth: 'UAE North',
  southafricanorth: 'South Africa North',
  southafricawest: 'South Africa West',
  swedencentral: 'Sweden Central',
  swedensouth: 'Sweden South',
  switzerlandnorth: 'Switzerland North',
  switzerlandwest: 'Switzerland West',
  germanynorth: 'Germany North',
  germanywestcentral: 'Germany West Central',
  norwaywest: 'Norway West',
  norwayeast: 'Norway East',
  brazilsoutheast: 'Brazil Southeast',
  qatarcentral: 'Qatar Central',
  israelcentral: 'Israel Central',
  italynorth: 'Italy North',
  polandcentral: 'Poland Central',
  mexicocentral: 'Mexico Central',
  spaincentral: 'Spain Central'
}

/**
 * Each region's pair (Microsoft Learn, "Azure region pairs and nonpaired regions"): where
 * geo-redundant storage keeps its secondary copy. Regions without a pair are left out.
 */
const PAIRS: Record<string, string> = {
  eastasia: 'southeastasia',
  southeastasia: 'eastasia',
  centralus: 'eastus2',
  eastus2: 'centralus',
  eastus: 'westus',
  westus: 'eastus',
  westus2: 'westcentralus',
  westcentralus: 'westus2',
  westus3: 'eastus',
  northcentralus: 'southcentralus',
  southcentralus: 'northcentralus',
  northeurope: 'westeurope',
  westeurope: 'northeurope',
  japanwest: 'japaneast',
  japaneast: 'japanwest',
  brazilsouth: 'southcentralus',
  brazilsoutheast: 'brazilsouth',
  australiaeast: 'australiasoutheast',
  australiasoutheast: 'australiaeast',
  australiacentral: 'australiacentral2',
  australiacentral2: 'australiacentral',
  southindia: 'centralindia',
  centralindia: 'southindia',
  westindia: 'southindia',
  canadacentral: 'canadaeast',
  canadaeast: 'canadacentral',
  uksouth: 'ukwest',
  ukwest: 'uksouth',
  koreacentral: 'koreasouth',
  koreasouth: 'koreacentral',
  francecentral: 'francesouth',
  francesouth: 'francecentral',
  uaenorth: 'uaecentral',
  uaecentral: 'uaenorth',
  southafricanorth: 'southafricawest',
  southafricawest: 'southafricanorth',
  swedencentral: 'swedensouth',
  swedensouth: 'swedencentral',
  switzerlandnorth: 'switzerlandwest',
  switzerlandwest: 'switzerlandnorth',
  germanywestcentral: 'germanynorth',
  germanynorth: 'germanywestcentral',
  norwayeast: 'norwaywest',
  norwaywest: 'norwayeast'
}

/** The paired region's name, or undefined for a nonpaired region. */
export function pairedRegion(location: string): string | undefined {
  const region = findRegion(location)
  return region ? PAIRS[region.name] : undefined
}

const BY_KEY = new Map<string, { name: string; displayName: string }>()
for (const [name, displayName] of Object.entries(REGIONS)) {
  BY_KEY.set(name, { name, displayName })
  BY_KEY.set(key(displayName), { name, displayName })
}

/** ARM accepts either form, in any case and spacing. */
function key(location: string): string {
  return location.toLowerCase().replace(/\s+/g, '')
}

export function findRegion(location: string): { name: string; displayName: string } | undefined {
  return BY_KEY.get(key(location))
}

/** Same region, whichever form either side is in. */
export function sameRegion(a: string, b: string): boolean {
  return (findRegion(a)?.name ?? key(a)) === (findRegion(b)?.name ?? key(b))
}

export function regionNames(): string[] {
  return Object.keys(REGIONS)
}

/** The regions as ARM's provider listings write them (`West Europe`). */
export function regionDisplayNames(): string[] {
  return Object.values(REGIONS)
}

/**
 * Resource types whose RP answers `location` as the display name: Microsoft.App (spec examples
 * `ContainerApps_Get.json`, `ManagedEnvironments_Get.json`: "East US") and PostgreSQL flexible
 * servers (real responses in Azure/azure-cli#29457: "Korea Central"). The others answer the name.
 */
const DISPLAY_NAME_TYPES = [/^microsoft\.app\//i, /^microsoft\.dbforpostgresql\/flexibleservers$/i]

export function locationAsAnswered(type: string, location: string): string {
  const region = findRegion(location)
  if (!region) return location
  return DISPLAY_NAME_TYPES.some((p) => p.test(type)) ? region.displayName : region.name
}

/** 400 `LocationNotAvailableForResourceType` (ARM; azure-rest-api-specs#8577, Azure-Landing-Zones#2199). */
export function locationNotAvailable(location: string, type: string): ArmError {
  return badRequest(
    'LocationNotAvailableForResourceType',
    `The provided location '${location}' is not available for resource type '${type}'. List of available regions for the resource type is '${regionNames().join(',')}'.`
  )
}
