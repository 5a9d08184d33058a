// What a .NET user writes after `dotnet add package MoRNative`: scripts/pack-check.sh copies this file into a fresh
// `dotnet new console` project that installs the packed package from a local feed. Public API only.
//
// It writes a tiny random byte-level LLaMA as a Hugging Face folder (argument 1), loads it back, attaches LoRA,
// trains a few steps and checks that the loss on its training data went down; then it saves the adapter beside
// the model. Exit code 0 means every check held; each failure is one line on stderr.
using System.Runtime.InteropServices;
using MoR;
using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Tokenization;
using MoR.Training;

string modelDirectory = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "mor-consumer-model"));
var failures = new List<string>();

var config = new LlamaConfig
{
    HiddenSize = 32,
    IntermediateSize = 64,
    NumHiddenLayers = 1,
    NumAttentionHeads = 2,
    VocabSize = ByteTokenizer.Instance.VocabSize,
    MaxPositionEmbeddings = 128,
    BosTokenId = ByteTokenizer.Bos,
    EosTokenIds = [ByteTokenizer.Eos],
    PadTokenId = ByteTokenizer.Pad,
};
using (LlamaModel random = LlamaModel.CreateRandom(config, Device.Cpu, seed: 7, trainable: false))
{
    ModelFolderWriter.SaveReplacing(random, modelDirectory, DType.F32, ByteTokenizer.Save);
}

using LlamaModel model = LlamaModel.Load(modelDirectory, Device.Cpu);
var lora = new LoRAConfig { Rank = 4, Alpha = 8 };
IReadOnlyList<string> adapted = AdapterInjector.Attach(model, lora, seed: 1);

var encoder = new ExampleEncoder(ByteTokenizer.Instance, chat: null);
List<TokenizedExample> examples = [.. Enumerable.Range(0, 40).Select(i => encoder.EncodePromptCompletion($"copy: w{i % 7}\n", $"w{i % 7}"))];
var options = new TrainingOptions
{
    Adapter = lora,
    LearningRate = 1e-2f,
    WarmupSteps = 0,
    MaxSteps = 12,
    MicroBatchSize = 4,
    SequenceLength = 32,
};
List<PackedSequence> rows = SequencePacker.Pack(examples, options.SequenceLength, ByteTokenizer.Pad, pack: true, out _);

// The training rows double as validation rows: the check is that training lowers the loss on what it trained on.
using var trainer = new Trainer(new LlamaTrainingModel(model), options, rows, validation: rows);
double before = trainer.Evaluate().Loss;
trainer.StepCompleted += (_, m) => Console.WriteLine($"step {m.Step} loss {m.Loss:F4}");
TrainingResult result = trainer.Run();
double after = trainer.Evaluate().Loss;
string adapterDirectory = Path.Combine(Path.GetDirectoryName(modelDirectory)!, Path.GetFileName(modelDirectory) + "-adapter");
AdapterFolder.Save(adapterDirectory, model, modelDirectory);

Console.WriteLine($"native library: {NativeDiagnostics.LibraryPath} ({NativeDiagnostics.BuildInfo})");
Console.WriteLine($"adapted {adapted.Count} modules; trained {result.Step} steps; loss on the training rows {before:F4} -> {after:F4}");
Console.WriteLine($"model: {modelDirectory}; adapter: {adapterDirectory}");

if (!result.Completed || result.Step != options.MaxSteps)
{
    failures.Add($"training stopped at step {result.Step} of {options.MaxSteps}");
}

if (!(after < before - 1e-3))
{
    failures.Add($"the loss did not go down: {before:F6} -> {after:F6}");
}

// A portable app gets the package's native assets under runtimes/<rid>/native (or beside it when published for a
// runtime); either way the file must be the package's, not one found elsewhere on the machine.
string loaded = NativeDiagnostics.LibraryPath ?? string.Empty;
string rid = RuntimeInformation.RuntimeIdentifier.StartsWith("win", StringComparison.Ordinal) ? "win-x64" : "linux-x64";
if (!loaded.StartsWith(AppContext.BaseDirectory, StringComparison.Ordinal) && !loaded.Contains(Path.Combine("runtimes", rid, "native"), StringComparison.Ordinal))
{
    failures.Add($"the native library came from {loaded}, not from the package's assets");
}

if (!File.Exists(Path.Combine(adapterDirectory, "adapter_model.safetensors")))
{
    failures.Add($"no adapter_model.safetensors in {adapterDirectory}");
}

foreach (string failure in failures)
{
    Console.Error.WriteLine($"consumer: FAILED: {failure}");
}

return failures.Count == 0 ? 0 : 1;
