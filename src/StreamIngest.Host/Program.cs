using Microsoft.Extensions.Options;
using StreamIngest.Host.Hosting;

if (args is ["keys", ..])
{
    return await StreamIngest.Host.Auth.KeysCommand.RunAsync(args[1..]);
}

try
{
    await StreamIngestApp.Build(args).RunAsync();
    return 0;
}
catch (Exception ex) when (ex is HostStartRefusedException or OptionsValidationException)
{
    // A configuration the host refuses: one line naming what to change, no stack trace.
    var message = ex is OptionsValidationException invalid ? string.Join(" ", invalid.Failures) : ex.Message;
    await Console.Error.WriteLineAsync($"streamingest: not started: {message}");
    return 2;
}

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
