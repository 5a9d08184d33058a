using System.Text.Json.Nodes;
using TorchSharp;

namespace MoR.Bench;

/// <summary>
/// <c>peer</c>: the TorchSharp-cpu LLaMA peer, one sub-command per measurement. Each prints ONE JSON object
/// on stdout (progress and errors go to stderr) and runs one cell per process, so peak RSS is that cell's.
/// </summary>
internal static class PeerMode
{
    public const string Usage = """
        peer SUBCOMMAND --flag value ...   (one JSON object on stdout)
          train    --model DIR [--method lora|mor|mor-expanded|moe-lora|full] [--adapter DIR] [--batch 1] [--seq 256] [--steps 10]
                   [--warmup 2] [--lr 1e-4] [--max-grad-norm 1] [--frozen-dtype stored|f32|bf16] [--batch-file F] [--threads K]
          eval     --model DIR [--method ... --adapter DIR] [--batch-file F | --batch 1 --seq 256] [--frozen-dtype ...]
          generate --model DIR [--prompt-tokens 16 | --prompt-ids 1,2,3] [--new-tokens 64] [--frozen-dtype ...]
          load     --model DIR [--frozen-dtype ...]
          check    --model DIR [--adapter DIR] --batch-file F [--frozen-dtype ...] [--train-steps 0 --lr 1e-3 --max-grad-norm 1]
                   ours vs the peer on the same inputs: losses, greedy tokens, and K training steps (adapter, or full without one)
          make-model --out DIR [--layers 2 --hidden 64 --ffn 172 --heads 4 --kv-heads 2 --vocab 256 --dtype f32|bf16 --tie 0]
                   [--adapter lora|mor|moe-lora --adapter-out DIR --rank 8 --alpha 16 --experts 8] [--data-out F.jsonl --data-rows 2 --data-seq 64]
          Fresh adapters (no --adapter DIR): --rank 8 --alpha 16 --experts 8 --targets gate_proj,up_proj,down_proj --seed 0.
          Data (--batch-file): mor eval's JSONL {"input_ids":[...],"labels":[...]} per line, or one {"input_ids":[[...]],"labels":[[...]]};
          labels aligned with input_ids (default: input_ids), -100 = not scored; position t predicts labels[t + 1].
          Without a batch file, train and eval use uniform random ids (--seed). --threads K: torch threads (default: all cores).
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            var arguments = new PeerArguments(args[1..]);
            int threads = arguments.Int("threads", Environment.ProcessorCount);
            Func<PeerArguments, JsonObject> command = args[0] switch
            {
                "train" => TorchLlamaPeerTrain.Run,
                "eval" => TorchLlamaPeerEval.Run,
                "generate" => TorchLlamaPeerGenerate.Run,
                "load" => TorchLlamaPeerLoad.Run,
                "check" => TorchLlamaPeerCheck.Run,
                "make-model" => PeerModelMaker.Run,
                _ => throw new PeerUsageException($"unknown sub-command '{args[0]}'."),
            };
            if (!TorchSharpRuntime.IsAvailable)
            {
                Console.Error.WriteLine(TorchSharpRuntime.Failure);
                return 1;
            }

            torch.set_num_threads(threads);
            JsonObject report = command(arguments);
            report["threads"] = threads;
            Console.Out.WriteLine(report.ToJsonString());
            return 0;
        }
        catch (PeerUsageException e)
        {
            Console.Error.WriteLine($"peer: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException or ArgumentException
                                      or UnauthorizedAccessException or MoR.IO.LlamaConfigException or MoR.IO.SafeTensorsFormatException
                                      or MoR.IO.CheckpointMismatchException or MoR.Adapters.AdapterFolderException or System.Text.Json.JsonException)
        {
            // Bad inputs (missing folder, malformed data or checkpoint) get one line, not a stack trace.
            Console.Error.WriteLine($"peer: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }
}
