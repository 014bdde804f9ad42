namespace StreamIngest.Host.Hosting;

/// <summary>
/// One data folder, one host: an exclusive OS lock on <c>Store:DataPath/.host.lock</c>, taken before anything is
/// opened or written there and held until the host is disposed. A second host on the same folder refuses to start,
/// naming the folder, instead of replaying into the first one's store. The lock dies with the process, so a crash
/// leaves nothing to clean up. The <c>keys</c> command does not take it: keys may be managed while the host runs.
/// </summary>
public sealed class DataFolderLock : IDisposable
{
    public const string FileName = ".host.lock";

    private readonly FileStream _file;

    private DataFolderLock(FileStream file) => _file = file;

    public static DataFolderLock Acquire(string folder)
    {
        var full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        try
        {
            // FileShare.None is an exclusive flock(2) on Unix and a share-mode lock on Windows.
            var file = new FileStream(Path.Combine(full, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            file.SetLength(0);
            using (var writer = new StreamWriter(file, leaveOpen: true))
            {
                writer.Write($"pid {Environment.ProcessId}\n");
            }

            file.Flush();
            return new DataFolderLock(file);
        }
        catch (IOException ex)
        {
            throw new HostStartRefusedException(
                $"Another StreamIngest host is using the data folder '{full}' (Store:DataPath): stop it, or give this one its own folder with --Store:DataPath=<folder>. ({ex.Message})");
        }
    }

    public void Dispose() => _file.Dispose();
}
