namespace StreamIngest.Tests;

/// <summary>Where the repository and the shared recorded fixtures are, seen from a test binary.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary><c>../shared/fixtures</c> beside the repository; absent on a plain clone.</summary>
    public static string SharedFixtures => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));

    public const string NoFixtures = "../shared/fixtures is absent (plain clone): recorded real payloads not available";

    public static bool HasSharedFixtures => Directory.Exists(SharedFixtures);

    public static string Fixture(params string[] parts) => Path.Combine([SharedFixtures, .. parts]);

    /// <summary>A fresh folder owned by one test.</summary>
    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "streamingest-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamIngest.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("StreamIngest.sln not found above " + AppContext.BaseDirectory);
    }
}
