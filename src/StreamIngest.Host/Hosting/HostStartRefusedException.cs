namespace StreamIngest.Host.Hosting;

/// <summary>
/// The host will not start as configured (it would listen beyond loopback without keys, or another host holds its
/// data folder). The message names the settings to change; <c>Program</c> prints it as one line and exits with 2.
/// </summary>
public sealed class HostStartRefusedException(string message) : Exception(message);
