import Testing
@testable import DataPack
