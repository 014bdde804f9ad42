// StreamIngest, distributed mode on Azure:
//   ingest role  -> Event Hubs (hub "posts")
//   process role -> Event Hubs processor (checkpoints in Blob Storage) -> Cosmos DB
//   api role     -> Cosmos DB
// Every role authenticates with one user-assigned managed identity: no keys in app settings.
// Build: infra/tools/bicep-build (CI runs it). Deploy: az deployment group create -g <rg> -f infra/main.bicep

targetScope = 'resourceGroup'

@description('Region for every resource.')
param location string = resourceGroup().location

@description('Short prefix for resource names (letters and digits).')
@minLength(3)
@maxLength(12)
param prefix string = 'si${take(uniqueString(resourceGroup().id), 10)}'

@description('Container image of StreamIngest.Host (built from src/StreamIngest.Host/Dockerfile).')
param image string

@description('Event Hubs partitions: the ceiling for process-role parallelism.')
@minValue(1)
@maxValue(32)
param partitionCount int = 8

@description('Posts older than this are expired by Cosmos DB TTL (hours).')
@minValue(1)
param retentionHours int = 48

// quantizedFlat serves searches over up to about 50,000 vectors per search scope, diskANN beyond that
// (https://learn.microsoft.com/azure/cosmos-db/index-vector-data); a firehose kept for retentionHours holds far more.
// A container's vector index cannot be changed in place, so the container is named after its index type:
// choosing another type deploys a new container (posts-<type>) instead of failing, and the apps follow it.
@description('Vector index for the embedding path: diskANN (firehose-sized collections) or quantizedFlat (up to ~50,000 posts per search).')
@allowed([
  'quantizedFlat'
  'diskANN'
])
param vectorIndexType string = 'diskANN'

@description('Length of the stored vectors: 384 for the packaged local models, else Embedding:OpenAI:Dimensions. A container cannot change it: a new length deploys a new container.')
@minValue(1)
@maxValue(4096)
param embeddingDimensions int = 384

@description('Replicas of the api app. A fixed count: each replica allows a key its share of the key\'s per-minute limit (Auth:ApiReplicas), so the limit holds across them.')
@minValue(1)
@maxValue(100)
param apiReplicas int = 2

@description('Autoscale ceiling of the posts container, in RU/s.')
param maxThroughput int = 4000

@description('Autoscale ceiling (RU/s) of the state container: cursors, dead letters, watches, count rollups, keys (docs/distributed.md, RU budget).')
@minValue(1000)
param stateMaxThroughput int = 1000

// The API is reachable from the internet, so it requires API keys and refuses to start without one. Make a key
// locally (`dotnet run --project src/StreamIngest.Host -- keys create --name deploy --scopes search,ground`, or any
// 32 random bytes prefixed si_) and pass the SHA-256 (lowercase hex) of it here; the key itself never leaves you.
@secure()
@description('SHA-256 (lowercase hex) of the API key callers of the api app present (scopes search and ground).')
param apiKeySha256 string

@description('Event Hubs throughput units to start with (Standard tier: 1-40).')
@minValue(1)
@maxValue(40)
param eventHubsThroughputUnits int = 1

@description('Auto-inflate ceiling in throughput units; 0 turns auto-inflate off.')
@minValue(0)
@maxValue(40)
param eventHubsMaxThroughputUnits int = 4

@description('An Azure Container Registry in this resource group to pull the image from with the apps\' identity (AcrPull); empty for a public image.')
param registryName string = ''

@description('Events in a partition not yet checkpointed that add one process replica (KEDA azure-eventhub scaler).')
param unprocessedEventThreshold int = 256

var names = {
  identity: '${prefix}-id'
  eventHubs: '${prefix}-eh'
  storage: toLower('${prefix}ckpt')
  cosmos: '${prefix}-cosmos'
  logs: '${prefix}-logs'
  environment: '${prefix}-env'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: names.identity
  location: location
}

// ---------------------------------------------------------------- Event Hubs
resource eventHubs 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: names.eventHubs
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: eventHubsThroughputUnits
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    isAutoInflateEnabled: eventHubsMaxThroughputUnits > 0
    maximumThroughputUnits: eventHubsMaxThroughputUnits > 0 ? max(eventHubsMaxThroughputUnits, eventHubsThroughputUnits) : 0
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: eventHubs
  name: 'posts'
  properties: {
    partitionCount: partitionCount
    // At least as long as posts are kept (Standard tier: 7 days at most), so a process role that was down can catch up.
    messageRetentionInDays: min(7, max(1, (retentionHours + 23) / 24))
  }
}

resource processGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: 'process'
}

// ---------------------------------------------------------------- Checkpoints
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: names.storage
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource checkpoints 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: 'checkpoints'
}

// ---------------------------------------------------------------- Cosmos DB
resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' = {
  name: names.cosmos
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    locations: [
      {
        locationName: location
        failoverPriority: 0
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: [
      {
        name: 'EnableNoSQLVectorSearch'
      }
      {
        name: 'EnableNoSQLFullTextSearch'
      }
    ]
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2025-10-15' = {
  parent: cosmos
  name: 'streamingest'
  properties: {
    resource: {
      id: 'streamingest'
    }
  }
}

// Container design (README "Cosmos DB container"): /pk spreads writes over many logical partitions
// (source + hash bucket of the id), so "now" is never one hot partition; the vector path is excluded from
// the range index and served by its own vector index; text has a full-text index; TTL = retention.
resource posts 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2025-10-15' = {
  parent: database
  name: 'posts-${toLower(vectorIndexType)}-${embeddingDimensions}'
  properties: {
    options: {
      autoscaleSettings: {
        maxThroughput: maxThroughput
      }
    }
    resource: {
      id: 'posts-${toLower(vectorIndexType)}-${embeddingDimensions}'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: retentionHours * 3600
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/embedding/*'
          }
          {
            path: '/post/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
        vectorIndexes: [
          {
            path: '/embedding'
            type: vectorIndexType
          }
        ]
        fullTextIndexes: [
          {
            path: '/text'
          }
        ]
      }
      vectorEmbeddingPolicy: {
        vectorEmbeddings: [
          {
            path: '/embedding'
            dataType: 'float32'
            distanceFunction: 'cosine'
            dimensions: embeddingDimensions
          }
        ]
      }
      fullTextPolicy: {
        defaultLanguage: 'en-US'
        fullTextPaths: [
          {
            path: '/text'
            language: 'en-US'
          }
        ]
      }
    }
  }
}

// Everything that is not a post (docs/distributed.md "State container"): its own throughput, and an index on
// only the paths its queries filter or sort on. TTL on without a default: each document carries its own.
resource state 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2025-10-15' = {
  parent: database
  name: 'state'
  properties: {
    options: {
      autoscaleSettings: {
        maxThroughput: stateMaxThroughput
      }
    }
    resource: {
      id: 'state'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: -1
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/pk/?'
          }
          {
            path: '/type/?'
          }
          {
            path: '/seq/?'
          }
          {
            path: '/atMs/?'
          }
          {
            path: '/bucketMs/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
  }
}

// ---------------------------------------------------------------- Role assignments (identity, no keys)
var roles = {
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(registryName)) {
  name: empty(registryName) ? 'none' : registryName
}

resource pullRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryName)) {
  scope: registry
  name: guid(resourceGroup().id, registryName, identity.id, roles.acrPull)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

resource sendRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hub
  name: guid(hub.id, identity.id, roles.eventHubsDataSender)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
  }
}

resource receiveRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hub
  name: guid(hub.id, identity.id, roles.eventHubsDataReceiver)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
  }
}

resource checkpointRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: checkpoints
  name: guid(checkpoints.id, identity.id, roles.storageBlobDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// Cosmos DB data-plane RBAC: the built-in "Data Contributor" role.
resource cosmosDataRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2025-10-15' = {
  parent: cosmos
  name: guid(cosmos.id, identity.id, 'data-contributor')
  properties: {
    principalId: identity.properties.principalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002'
    scope: cosmos.id
  }
}

// ---------------------------------------------------------------- Container Apps: one app per role
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: names.logs
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

// ---------------------------------------------------------------- Diagnostics to Log Analytics
// Cosmos DB in resource-specific tables, with RU per partition key (hot partitions) and query statistics.
resource cosmosDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: cosmos
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      { category: 'DataPlaneRequests', enabled: true }
      { category: 'QueryRuntimeStatistics', enabled: true }
      { category: 'PartitionKeyRUConsumption', enabled: true }
      { category: 'PartitionKeyStatistics', enabled: true }
      { category: 'ControlPlaneRequests', enabled: true }
    ]
    metrics: [
      { category: 'Requests', enabled: true }
    ]
  }
}

resource eventHubsDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: eventHubs
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logs: [
      { categoryGroup: 'allLogs', enabled: true }
    ]
    metrics: [
      { category: 'AllMetrics', enabled: true }
    ]
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: names.environment
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

var commonEnv = [
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
  {
    name: 'Transport'
    value: 'EventHubs'
  }
  {
    name: 'EventHubs__FullyQualifiedNamespace'
    value: '${eventHubs.name}.servicebus.windows.net'
  }
  {
    name: 'EventHubs__HubName'
    value: hub.name
  }
  {
    name: 'EventHubs__ConsumerGroup'
    value: processGroup.name
  }
  {
    name: 'EventHubs__CheckpointContainerUri'
    value: '${storage.properties.primaryEndpoints.blob}${checkpoints.name}'
  }
  {
    name: 'Cosmos__Endpoint'
    value: cosmos.properties.documentEndpoint
  }
  {
    name: 'Cosmos__Database'
    value: database.name
  }
  {
    name: 'Cosmos__Container'
    value: posts.name
  }
  {
    name: 'Cosmos__StateContainer'
    value: state.name
  }
  {
    name: 'Cosmos__VectorIndexType'
    value: vectorIndexType
  }
  {
    name: 'Store__RetentionHours'
    value: string(retentionHours)
  }
  {
    name: 'Auth__Mode'
    value: 'Keys'
  }
  {
    // Each api replica allows a key its share of the limit, so the limit holds across them (docs/api.md).
    name: 'Auth__ApiReplicas'
    value: string(apiReplicas)
  }
  {
    name: 'Auth__Keys__0__Name'
    value: 'deployment'
  }
  {
    name: 'Auth__Keys__0__Sha256'
    secretRef: 'api-key-sha256'
  }
  {
    name: 'Auth__Keys__0__Scopes__0'
    value: 'search'
  }
  {
    name: 'Auth__Keys__0__Scopes__1'
    value: 'ground'
  }
]

var apps = [
  {
    role: 'ingest'
    minReplicas: 1
    maxReplicas: 1
    ingress: false
  }
  {
    role: 'process'
    minReplicas: 1
    maxReplicas: partitionCount
    ingress: false
  }
  {
    role: 'api'
    minReplicas: apiReplicas
    maxReplicas: apiReplicas
    ingress: true
  }
]

resource roleApps 'Microsoft.App/containerApps@2025-01-01' = [for app in apps: {
  name: '${prefix}-${app.role}'
  location: location
  dependsOn: [
    pullRole
  ]
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      secrets: [
        {
          name: 'api-key-sha256'
          value: apiKeySha256
        }
      ]
      registries: empty(registryName) ? [] : [
        {
          server: registry!.properties.loginServer
          identity: identity.id
        }
      ]
      ingress: app.ingress ? {
        external: true
        targetPort: 8080
        transport: 'http'
      } : null
    }
    template: {
      containers: [
        {
          name: app.role
          image: image
          args: [
            '--role'
            app.role
          ]
          env: commonEnv
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          probes: app.ingress ? [
            {
              // Start-up may wait for the Cosmos DB role assignment to apply (Cosmos:AccessWaitSeconds, 300 s).
              type: 'Startup'
              httpGet: {
                path: '/health/live'
                port: 8080
              }
              periodSeconds: 30
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/health/live'
                port: 8080
              }
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/health/ready'
                port: 8080
              }
            }
          ] : []
        }
      ]
      scale: {
        minReplicas: app.minReplicas
        maxReplicas: app.maxReplicas
        // The process role follows Event Hubs lag (events not yet checkpointed, read from our checkpoint blobs'
        // metadata, the layout the Event Hubs SDKs write), up to one replica per partition.
        rules: app.role == 'process' ? [
          {
            name: 'eventhub-lag'
            custom: {
              type: 'azure-eventhub'
              identity: identity.id
              metadata: {
                eventHubNamespace: eventHubs.name
                eventHubName: hub.name
                consumerGroup: processGroup.name
                unprocessedEventThreshold: string(unprocessedEventThreshold)
                checkpointStrategy: 'blobMetadata'
                storageAccountName: storage.name
                blobContainer: checkpoints.name
              }
            }
          }
        ] : []
      }
    }
  }
}]

output apiUrl string = 'https://${roleApps[2].properties.configuration.ingress.fqdn}'
output eventHubsNamespace string = '${eventHubs.name}.servicebus.windows.net'
output cosmosEndpoint string = cosmos.properties.documentEndpoint
