using StreamIngest.Host.Bench;
using StreamIngest.Host.Hosting;

if (args is ["bench", ..])
{
    return await BenchCommand.RunAsync(args[1..]);
}

if (args is ["keys", ..])
{
    return await StreamIngest.Host.Auth.KeysCommand.RunAsync(args[1..]);
}

if (args is ["train", ..])
{
    return await StreamIngest.Host.Training.TrainCommand.RunAsync(args[1..]);
}

await StreamIngestApp.Build(args).RunAsync();
return 0;

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
