// DataPack
