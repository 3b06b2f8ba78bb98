import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Home
import Store
import Triage

/// `--intents PATH`: which data pack the assistant runs on.
struct PackOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The data pack folder (default: intents/ of the checkout).", valueName: "path"))
    var intents: String?

    func directory(_ files: ProjectFiles) -> URL {
        intents.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? files.intentsDirectory
    }
}

/// Everything that answers residents, assembled: the data pack, the
/// community's model (trained on first use), the safety rules, the triage, the
/// store and the conversation engine. `chat` and `triage` start from here.
struct Assistant {
    var pack: DataPack
    var model: CommunityModel
    var triager: Triager
    var store: any TicketStore
    var engine: ConversationEngine

    /// The triage alone (no store): for `concierge triage`.
    static func triage(packOptions: PackOptions, home: ConciergeHome) throws -> (DataPack, CommunityModel, Triager) {
        let files = try ProjectFiles.locate()
        let directory = packOptions.directory(files)
        let (pack, _) = try DataPackLoader.load(directory: directory)
        try home.prepare()
        let model = try CommunityModel.loadOrTrain(intents: directory, pack: pack, vocabulary: files.vocabularyFile,
                                                   modelsDirectory: home.modelsDirectory)
        let triager = try Triager(model: model, pack: pack, safety: SafetyRules(pack: pack))
        return (pack, model, triager)
    }

    static func open(storeOptions: StoreOptions, packOptions: PackOptions) async throws -> Assistant {
        let (pack, model, triager) = try triage(packOptions: packOptions, home: storeOptions.home.home)
        let facts = PackFacts(pack: pack)
        let store = try await storeOptions.open(targets: facts.targets)
        let engine = ConversationEngine(store: store, triager: triager, pack: pack,
                                        modelVersion: String(model.card.modelKey.prefix(12)))
        return Assistant(pack: pack, model: model, triager: triager, store: store, engine: engine)
    }
}
