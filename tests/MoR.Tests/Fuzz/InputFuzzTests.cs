using System.Buffers.Binary;
using System.Text;
using MoR.Tests.Adapters;
using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Numerics;
using MoR.Tests.Cli;
using MoR.Tests.IO;
using MoR.Tests.Model;
using MoR.Tokenization;

namespace MoR.Tests.Fuzz;

/// <summary>
/// Thousands of seeded mutations of each input format the project reads — a safetensors header, config.json,
/// adapter_config.json, a JSONL record — each read by the real loader: every outcome must be a valid load or the
/// project's typed error for that format, never another exception type, a crash or a hang (each run has a deadline).
/// A failure lists the seed and the mutated input, so it can be replayed.
/// </summary>
public sealed class InputFuzzTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    [Fact]
    public void Safetensors_headers()
    {
        const string Header = """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},"c":{"dtype":"I64","shape":[1],"data_offsets":[32,40]}}""";
        using var dir = new TempDirectory();
        string path = dir.File("fuzz.safetensors");
        var rng = new SeededRandom(11);
        int valid = Fuzz(seed: 1, cases: 3000, Header, (mutator, json) =>
        {
            byte[] header = mutator.ToBytes(json);
            int dataLength = rng.NextInt(10) == 0 ? rng.NextInt(64) : 40;
            byte[] file = RawSafeTensors.Build(header, new byte[dataLength]);
            if (rng.NextInt(10) == 0)
            {
                // The length prefix lies: a little, or wildly.
                ulong declared = rng.NextInt(2) == 0 ? (ulong)(header.Length + rng.NextInt(17) - 8) : rng.NextUInt64();
                BinaryPrimitives.WriteUInt64LittleEndian(file, declared);
            }

            File.WriteAllBytes(path, file);
            using SafeTensorsReader reader = SafeTensorsReader.Open(path);
            foreach (TensorInfo t in reader.Tensors)
            {
                Assert.Equal(t.ElementCount * t.DType.ElementSize(), reader.GetBytes(t).Length);
            }
        }, typeof(SafeTensorsFormatException));
        Assert.True(valid > 0, "some mutations (e.g. of metadata) leave a valid file");
    }

    [Fact]
    public void Config_json()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        string config = Path.Combine(ckpt.Directory, "config.json");
        string original = ckpt.Config.ToJson();
        using CheckpointReader checkpoint = CheckpointReader.Open(ckpt.Directory);
        int valid = Fuzz(seed: 2, cases: 2000, original, (mutator, json) =>
        {
            File.WriteAllBytes(config, mutator.ToBytes(json));
            LlamaConfig parsed = LlamaConfig.Load(config);
            parsed.VerifyCheckpoint(checkpoint);
            using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
            Assert.Equal(parsed.NumHiddenLayers, model.Config.NumHiddenLayers);
        }, typeof(LlamaConfigException), typeof(CheckpointMismatchException));
        Assert.True(valid > 0);
    }

    [Fact]
    public void Adapter_config_json()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        string adapter = TinyCheckpoint.TempDir();
        try
        {
            AdapterInjector.Attach(model, TestAdapters.Config("mor", rank: 2, experts: 2, targets: ["up_proj", "q_proj"]));
            AdapterFolder.Save(adapter, model);
            AdapterInjector.DetachAll(model);
            string config = Path.Combine(adapter, AdapterConfigFile.FileName);
            string original = File.ReadAllText(config);
            int valid = Fuzz(seed: 3, cases: 2000, original, (mutator, json) =>
            {
                File.WriteAllBytes(config, mutator.ToBytes(json));
                try
                {
                    AdapterFolder.Load(adapter, model);
                }
                finally
                {
                    AdapterInjector.DetachAll(model);
                }
            }, typeof(AdapterFolderException), typeof(JsonFileException));
            Assert.True(valid > 0);
        }
        finally
        {
            Directory.Delete(adapter, recursive: true);
        }
    }

    [Fact]
    public void Jsonl_records()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        var encoder = new ExampleEncoder(ByteTokenizer.Instance, ChatFormatter.FromDirectory(model), maskPrompt: true);
        string path = dir.File("data.jsonl");
        string[] records =
        [
            """{"text": "hello world"}""",
            """{"prompt": "copy: ab\n", "completion": "ab", "id": 7}""",
            """{"messages": [{"role": "system", "content": "brief"}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}""",
            """{"input_ids": [257, 104, 105, 258], "labels": [-100, 104, 105, 258]}""",
        ];
        int valid = 0;
        for (int r = 0; r < records.Length; r++)
        {
            valid += Fuzz(seed: 40UL + (ulong)r, cases: 750, records[r], (mutator, json) =>
            {
                File.WriteAllBytes(path, mutator.ToBytes(json.ReplaceLineEndings(" ")));
                List<TokenizedExample> examples = JsonlDataset.Read(path, encoder);
                Assert.All(examples, e => Assert.Equal(e.Ids.Length, e.Labels.Length));
            }, typeof(DataFormatException));
            valid += Fuzz(seed: 50UL + (ulong)r, cases: 250, records[r], (mutator, json) =>
                Evaluator.Parse(Encoding.UTF8.GetString(mutator.ToBytes(json)), ByteTokenizer.Instance, ByteTokenizer.Instance.VocabSize, "fuzz", 1), typeof(FormatException));
        }

        Assert.True(valid > 0);
    }

    /// <summary>Runs <paramref name="cases"/> mutations of <paramref name="original"/> through <paramref name="load"/>; returns how many loaded.</summary>
    private static int Fuzz(ulong seed, int cases, string original, Action<JsonMutator, string> load, params Type[] typedErrors)
    {
        var mutator = new JsonMutator(seed);
        var failures = new List<string>();
        int valid = 0;
        Task run = Task.Run(() =>
        {
            for (int i = 0; i < cases; i++)
            {
                string json = mutator.Mutate(original);
                try
                {
                    load(mutator, json);
                    valid++;
                }
                catch (Exception e) when (typedErrors.Any(t => t.IsInstanceOfType(e)))
                {
                    Assert.DoesNotContain('\n', e.Message);  // one line, as the CLI prints it
                }
                catch (Exception e)
                {
                    failures.Add($"seed {seed} case {i}: {e.GetType().Name}: {e.Message}\n  input: {json}");
                }
            }
        });
        Assert.True(run.Wait(Deadline), $"seed {seed}: the loader did not finish {cases} cases within {Deadline} (a hang?)");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} mutations escaped as untyped errors:\n" + string.Join("\n", failures.Take(10)));
        return valid;
    }
}
