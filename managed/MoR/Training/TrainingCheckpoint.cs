using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using MoR.IO;
using MoR.Modules;

namespace MoR.Training;

/// <summary>
/// Checkpoint folders <c>checkpoint-NNNNNNNN</c> under a root: <c>parameters.safetensors</c> (trainable
/// parameters by position), <c>optimizer.safetensors</c> (AdamW moments) and <c>trainer_state.json</c>.
/// </summary>
/// <remarks>
/// Written atomically: everything goes into a hidden <c>.checkpoint-N.tmp-…</c> folder, each file is
/// flushed to disk, and only then is the folder renamed to its final name (one rename, atomic on one
/// file system). A process that dies before the rename leaves only a temporary folder, which readers
/// ignore and the next save removes, so the previous checkpoint stays the latest valid one. Older
/// checkpoints are deleted only after the new one is in place. (.NET cannot fsync a directory; the
/// rename survives process death, and on power loss a journalling file system keeps the order.)
/// </remarks>
public static class TrainingCheckpoint
{
    /// <summary>The folder-name prefix.</summary>
    public const string Prefix = "checkpoint-";

    private const string ParametersFile = "parameters.safetensors";
    private const string OptimizerFile = "optimizer.safetensors";
    private const string StateFile = "trainer_state.json";
    private const string OldSuffix = ".old-";

    /// <summary>Writes a checkpoint of <paramref name="state"/> and returns its folder; keeps the newest <paramref name="keep"/> checkpoints.</summary>
    public static string Save(string root, TrainerState state, AdamW optimizer, int keep = 2) => Save(root, state, optimizer, keep, beforeRename: null);

    /// <summary>
    /// <see cref="Save(string, TrainerState, AdamW, int)"/> with a test seam that runs after the temporary folder is complete
    /// and before the rename (a kill there is simulated by throwing). Per call, so tests running in parallel do not share it.
    /// </summary>
    internal static string Save(string root, TrainerState state, AdamW optimizer, int keep, Action<string>? beforeRename)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(optimizer);
        TestPausePoints.At("checkpoint.begin", state.Step);
        Directory.CreateDirectory(root);
        RemoveTemporaries(root);
        string name = Prefix + state.Step.ToString("D8", CultureInfo.InvariantCulture);
        string final = Path.Combine(root, name);
        string temp = Path.Combine(root, $".{name}.tmp-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        Directory.CreateDirectory(temp);
        try
        {
            var parameters = new SafeTensorsWriter();
            var moments = new SafeTensorsWriter();
            IReadOnlyList<Parameter> ps = optimizer.Parameters;
            for (int i = 0; i < ps.Count; i++)
            {
                parameters.Add(TensorName(i), ps[i].Value);
                moments.Add($"m.{i:D5}", optimizer.FirstMoments[i]);
                moments.Add($"v.{i:D5}", optimizer.SecondMoments[i]);
            }

            parameters.SetMetadata("format", "mornative-checkpoint");
            parameters.Save(Path.Combine(temp, ParametersFile));
            TestPausePoints.At("checkpoint.parameters-written", state.Step);
            moments.Save(Path.Combine(temp, OptimizerFile));
            TestPausePoints.At("checkpoint.optimizer-written", state.Step);
            AtomicFile.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, TrainingJson.Options));
            TestPausePoints.At("checkpoint.complete", state.Step);
            beforeRename?.Invoke(temp);
            if (Directory.Exists(final))
            {
                // Same step saved again (an interrupted run saved it, then the end of the run): replace it.
                string old = final + OldSuffix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
                Directory.Move(final, old);
                TestPausePoints.At("checkpoint.replace.old-moved-aside", state.Step);
                Directory.Move(temp, final);
                TestPausePoints.At("checkpoint.replace.new-in-place", state.Step);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, final);
                TestPausePoints.At("checkpoint.renamed", state.Step);
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        foreach (string stale in List(root).SkipLast(Math.Max(1, keep)))
        {
            // The state file first: a folder without it is no checkpoint, so a kill half-way through the delete never
            // leaves a listed checkpoint with missing tensors.
            TryDeleteFile(Path.Combine(stale, StateFile));
            TestPausePoints.At("checkpoint.pruning", state.Step);
            TryDelete(stale);
        }

        TestPausePoints.At("checkpoint.pruned", state.Step);
        return final;
    }

    /// <summary>The newest complete checkpoint under <paramref name="root"/>, or null.</summary>
    public static string? FindLatest(string root) => List(root).LastOrDefault();

    /// <summary>
    /// The checkpoint a <c>--resume</c> argument names: a checkpoint folder itself, or a root (an output
    /// folder or its <c>checkpoints</c> subfolder) holding checkpoints, of which the newest is taken.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">Nothing there is a checkpoint.</exception>
    public static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, StateFile)))
        {
            return path;
        }

        return FindLatest(path) ?? FindLatest(Path.Combine(path, "checkpoints"))
            ?? throw new DirectoryNotFoundException($"No checkpoint in '{path}' (expected a {Prefix}N folder with {StateFile}).");
    }

    /// <summary>Reads only the state of a checkpoint.</summary>
    public static TrainerState ReadState(string directory)
    {
        string path = Path.Combine(directory, StateFile);
        return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), TrainingJson.Options)
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }

    /// <summary>Loads parameters and optimizer moments from <paramref name="directory"/>; returns its state.</summary>
    /// <exception cref="InvalidDataException">The checkpoint belongs to a model with other parameters.</exception>
    public static TrainerState Load(string directory, AdamW optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        TrainerState state = ReadState(directory);
        if (state.FormatVersion != TrainerState.CurrentFormatVersion)
        {
            throw new InvalidDataException($"Checkpoint '{directory}' has format {state.FormatVersion}; this build reads {TrainerState.CurrentFormatVersion}.");
        }

        IReadOnlyList<Parameter> ps = optimizer.Parameters;
        if (state.ParameterNames.Length != ps.Count)
        {
            throw new InvalidDataException(
                $"Checkpoint '{directory}' holds {state.ParameterNames.Length} parameters but this model trains {ps.Count}: was it written with another method, rank or target modules?");
        }

        using SafeTensorsReader parameters = SafeTensorsReader.Open(Path.Combine(directory, ParametersFile));
        using SafeTensorsReader moments = SafeTensorsReader.Open(Path.Combine(directory, OptimizerFile));
        for (int i = 0; i < ps.Count; i++)
        {
            if (!state.ParameterShapes[i].AsSpan().SequenceEqual(ps[i].Value.Shape) || state.ParameterNames[i] != ps[i].Name)
            {
                throw new InvalidDataException(
                    $"Checkpoint parameter {i} is '{state.ParameterNames[i]}' {ShapeText.Format(state.ParameterShapes[i])} but the model's is '{ps[i].Name}' {ShapeText.Format(ps[i].Value.Shape)}.");
            }

            ps[i].Value.CopyFromBytes(parameters.GetBytes(TensorName(i)));
            optimizer.FirstMoments[i].CopyFromBytes(moments.GetBytes($"m.{i:D5}"));
            optimizer.SecondMoments[i].CopyFromBytes(moments.GetBytes($"v.{i:D5}"));
            ps[i].ZeroGrad();
        }

        optimizer.RestoreStepCount(state.OptimizerSteps);
        return state;
    }

    private static string TensorName(int i) => $"p.{i:D5}";

    private static List<string> List(string root)
    {
        if (!Directory.Exists(root))
        {
            return [];
        }

        return [.. Directory.EnumerateDirectories(root, Prefix + "*")
            .Where(d => int.TryParse(Path.GetFileName(d).AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                        && File.Exists(Path.Combine(d, StateFile)))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)];
    }

    // Left by a process that died mid-save: hidden temporaries, folders moved aside while a step was saved again, and
    // pruned checkpoints whose delete did not finish (no state file; the newest checkpoint always has one).
    private static void RemoveTemporaries(string root)
    {
        foreach (string temp in Directory.EnumerateDirectories(root, "." + Prefix + "*")
                     .Concat(Directory.EnumerateDirectories(root, Prefix + "*" + OldSuffix + "*"))
                     .Concat(Directory.EnumerateDirectories(root, Prefix + "*").Where(d => !File.Exists(Path.Combine(d, StateFile)))))
        {
            TryDelete(temp);
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder delete below retries the whole folder.
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover folder is harmless: readers skip it and the next save retries.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
