namespace MoR.Tokenization;

/// <summary>The chat formats MoR renders (in place of running the Jinja <c>chat_template</c>).</summary>
public enum ChatTemplateKind
{
    /// <summary>LLaMA 2 chat: <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;…&lt;&lt;/SYS&gt;&gt; user [/INST] answer &lt;/s&gt;</c>.</summary>
    Llama2,

    /// <summary>LLaMA 3 instruct: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ntext&lt;|eot_id|&gt;</c>.</summary>
    Llama3,

    /// <summary>ChatML: <c>&lt;|im_start|&gt;role\ntext&lt;|im_end|&gt;\n</c> (SmolLM, Qwen, MoR's byte tokenizer).</summary>
    ChatMl,

    /// <summary>Zephyr / TinyLlama chat: <c>&lt;|role|&gt;\ntext&lt;/s&gt;\n</c>.</summary>
    Zephyr,

    /// <summary>Mistral instruct: <c>&lt;s&gt;[INST] user [/INST]answer&lt;/s&gt;</c>.</summary>
    Mistral,
}
