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
    public static string Resolve(string path) => Candidates(path)[0];

    /// <summary>
    /// The checkpoints a <c>--resume</c> argument offers, newest first: just the folder when it names a checkpoint,
    /// otherwise every complete checkpoint under the root (or its <c>checkpoints</c> subfolder), for a resume to
    /// fall back to when the newest cannot be read.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">Nothing there is a checkpoint.</exception>
    public static IReadOnlyList<string> Candidates(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(Path.Combine(path, StateFile)))
        {
            return [path];
        }

        List<string> found = List(path) is { Count: > 0 } here ? here : List(Path.Combine(path, "checkpoints"));
        if (found.Count == 0)
        {
            throw new DirectoryNotFoundException($"No checkpoint in '{path}' (expected a {Prefix}N folder with {StateFile}).");
        }

        found.Reverse();
        return found;
    }

    /// <summary>Reads only the state of a checkpoint, checking that its values are possible.</summary>
    /// <exception cref="JsonFileException"><c>trainer_state.json</c> is not valid JSON or does not fit <see cref="TrainerState"/>.</exception>
    /// <exception cref="TrainingCheckpointException">A value is missing or impossible (negative step, lists of different lengths...).</exception>
    public static TrainerState ReadState(string directory)
    {
        string path = Path.Combine(directory, StateFile);
        if (!File.Exists(path))
        {
            throw new TrainingCheckpointException(directory, $"{StateFile} is missing");
        }

        TrainerState state = JsonFile.Deserialize<TrainerState>(path, TrainingJson.Options);
        string? problem =
            state.FormatVersion != TrainerState.CurrentFormatVersion ? $"format {state.FormatVersion}; this build reads {TrainerState.CurrentFormatVersion}"
            : state.Step < 0 || state.OptimizerSteps < 0 || state.SkippedSteps < 0 ? "a step count is negative"
            : state.OptimizerSteps + state.SkippedSteps > state.Step ? $"{state.OptimizerSteps} optimizer steps and {state.SkippedSteps} skipped steps exceed step {state.Step}"
            : state.Data.Epoch < 0 || state.Data.Position < 0 ? "the data cursor is negative"
            : state.ParameterNames is null || state.ParameterShapes is null ? "parameter_names or parameter_shapes is missing"
            : state.ParameterNames.Length != state.ParameterShapes.Length ? $"{state.ParameterNames.Length} parameter names but {state.ParameterShapes.Length} shapes"
            : state.ParameterNames.Any(n => n is null) || state.ParameterShapes.Any(s => s is null || s.Any(d => d < 0)) ? "a parameter name or shape is missing or negative"
            : state.Options is null ? "options is missing"
            : null;
        return problem is null ? state : throw new TrainingCheckpointException(directory, $"{StateFile}: {problem}");
    }

    /// <summary>
    /// Loads parameters and optimizer moments from <paramref name="directory"/>; returns its state. Everything is
    /// checked (state, both files, every tensor's dtype, size and finiteness) before anything is copied, so a failed
    /// load leaves the parameters and moments as they were.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint belongs to a model with other parameters.</exception>
    /// <exception cref="IOException">The checkpoint is unreadable (<see cref="TrainingCheckpointException"/>, <see cref="JsonFileException"/>, <see cref="SafeTensorsFormatException"/>).</exception>
    public static TrainerState Load(string directory, AdamW optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        TrainerState state = ReadState(directory);
        IReadOnlyList<Parameter> ps = optimizer.Parameters;
        if (state.ParameterNames.Length != ps.Count)
        {
            throw new InvalidDataException(
                $"Checkpoint '{directory}' holds {state.ParameterNames.Length} parameters but this model trains {ps.Count}: was it written with another method, rank or target modules?");
        }

        for (int i = 0; i < ps.Count; i++)
        {
            if (!state.ParameterShapes[i].AsSpan().SequenceEqual(ps[i].Value.Shape) || state.ParameterNames[i] != ps[i].Name)
            {
                throw new InvalidDataException(
                    $"Checkpoint '{directory}': parameter {i} is '{state.ParameterNames[i]}' {ShapeText.Format(state.ParameterShapes[i])} but the model's is '{ps[i].Name}' {ShapeText.Format(ps[i].Value.Shape)}: was it written with another method, rank or target modules?");
            }
        }

        using SafeTensorsReader parameters = OpenPart(directory, ParametersFile);
        using SafeTensorsReader moments = OpenPart(directory, OptimizerFile);
        var sources = new (TensorInfo Value, TensorInfo First, TensorInfo Second)[ps.Count];
        for (int i = 0; i < ps.Count; i++)
        {
            sources[i] = (Part(directory, parameters, TensorName(i), ps[i]), Part(directory, moments, $"m.{i:D5}", ps[i]), Part(directory, moments, $"v.{i:D5}", ps[i]));
        }

        for (int i = 0; i < ps.Count; i++)
        {
            ps[i].Value.CopyFromBytes(parameters.GetBytes(sources[i].Value));
            optimizer.FirstMoments[i].CopyFromBytes(moments.GetBytes(sources[i].First));
            optimizer.SecondMoments[i].CopyFromBytes(moments.GetBytes(sources[i].Second));
            ps[i].ZeroGrad();
        }

        optimizer.RestoreStepCount(state.OptimizerSteps);
        return state;
    }

    private static SafeTensorsReader OpenPart(string directory, string file)
    {
        string path = Path.Combine(directory, file);
        return File.Exists(path) ? SafeTensorsReader.Open(path) : throw new TrainingCheckpointException(directory, $"{file} is missing");
    }

    // A saved tensor must be there, F32, exactly the parameter's size and finite (a NaN would poison every later step).
    private static TensorInfo Part(string directory, SafeTensorsReader reader, string name, Parameter parameter)
    {
        string file = Path.GetFileName(reader.FilePath);
        if (!reader.TryGetInfo(name, out TensorInfo? info))
        {
            throw new TrainingCheckpointException(directory, $"{file} has no tensor '{name}'");
        }

        if (info.DType != SafeTensorDType.F32 || info.ElementCount != parameter.Numel)
        {
            throw new TrainingCheckpointException(
                directory, $"{file}: tensor '{name}' is {info.DType.ToSafeTensorsName()} {info.FormatShape()}, but parameter '{parameter.Name}' needs F32 {ShapeText.Format(parameter.Value.Shape)}");
        }

        try
        {
            reader.EnsureFinite(info);
        }
        catch (NonFiniteTensorException e)
        {
            throw new TrainingCheckpointException(directory, $"{file}: tensor '{name}' holds {e.Value} at element {e.Index}", e);
        }

        return info;
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
